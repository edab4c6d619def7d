using System.Diagnostics;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Engine.Transport.VhostUser;

/// <summary>
/// The vhost-user front-end: the device is another process (qemu-storage-daemon, orion-vhost, SPDK's vhost target)
/// reached over a Unix socket. The transport seam maps onto the protocol: features and config at connect time,
/// SET_FEATURES at FEATURES_OK, SET_MEM_TABLE for the DMA regions (guest address = user address = the engine's
/// DMA address, mmap offset inside each memfd), per queue NUM / BASE / ADDR / KICK / CALL / ENABLE, and
/// GET_VRING_BASE to stop. The back-end gets real kick and call eventfds even when the engine polls (reference §5:
/// qemu-storage-daemon crashes on a missing call fd and never polls the ring), with interrupts suppressed in the
/// ring itself. <see cref="Reconnect"/> redoes the whole handshake on a fresh connection after a back-end restart.
/// </summary>
public sealed class VhostUserTransport : IVirtioTransport
{
    /// <summary>Protocol features the front-end uses when offered (CONFIGURE_MEM_SLOTS unless <see cref="VhostUserOptions.UseMemorySlots"/> is off).</summary>
    public const VhostUserProtocolFeatures Wanted = VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config |
                                                    VhostUserProtocolFeatures.ConfigureMemSlots;

    /// <summary>Largest queue libvhost-user serves (VIRTQUEUE_MAX_SIZE).</summary>
    public const int MaxRingSize = 1024;

    private readonly string _path;
    private readonly VhostUserOptions _options;
    private readonly object _control = new();
    private VhostUserChannel? _channel;
    private VirtioFeatures _offered;
    private VirtioFeatures _driver;
    private bool _protocolFeatures;
    private DeviceStatus _status;
    private byte[] _config = [];
    private MemoryRegion[] _regions = [];
    private QueueSetup?[] _queues = [];
    private VhostUserChannel? _memorySentOn;      // the connection the current memory table was sent on
    // The doorbells, indexed by queue; read on the data path without locks.
    private EventFd?[] _kicks = [];

    private sealed class QueueSetup(int size, SplitRingAddresses addresses, EventFd kick, EventFd call, bool ownsKick, bool ownsCall)
    {
        public int Size = size;
        public SplitRingAddresses Addresses = addresses;
        public readonly EventFd Kick = kick, Call = call;
        public readonly bool OwnsKick = ownsKick, OwnsCall = ownsCall;
        public bool Started;
    }

    private VhostUserTransport(string path, VhostUserOptions options)
    {
        _path = path;
        _options = options;
    }

    /// <summary>
    /// Connects to the back-end at <paramref name="path"/> (retrying while nothing listens yet, up to
    /// <see cref="VhostUserOptions.ConnectTimeout"/>) and runs the first half of the handshake: features, protocol
    /// features, queue count, owner, and the device's config space.
    /// </summary>
    public static VhostUserTransport Connect(string path, VhostUserOptions? options = null)
    {
        var t = new VhostUserTransport(path, options ?? new VhostUserOptions());
        try
        {
            t.Open(t._options.ConnectTimeout, first: true);
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>The socket path.</summary>
    public string Path => _path;

    /// <summary>The protocol features in use on the current connection.</summary>
    public VhostUserProtocolFeatures ProtocolFeatures { get; private set; }

    /// <summary>Memory slots the back-end accepts (GET_MAX_MEM_SLOTS) when CONFIGURE_MEM_SLOTS is in use; 0 when regions go in one SET_MEM_TABLE.</summary>
    public int MaxMemorySlots { get; private set; }

    /// <summary>Whether a usable connection is up (false after a hang-up or a failed request until <see cref="Reconnect"/> succeeds).</summary>
    public bool IsConnected => Volatile.Read(ref _channel) is { Failure: null };

    /// <summary>Connections made so far (1 after <see cref="Connect"/>; each successful reconnect adds one).</summary>
    public int Connections { get; private set; }

    /// <summary>The back-end's process id on the current connection (SO_PEERCRED), for CPU accounting; null when disconnected.</summary>
    public int? BackEndProcessId => Volatile.Read(ref _channel)?.PeerProcessId;

    /// <summary>The timeouts in use.</summary>
    public VhostUserOptions Options => _options;

    /// <inheritdoc />
    public string Description => $"vhost-user {_path}";

    /// <inheritdoc />
    public DeviceStatus GetStatus() => _status;

    /// <inheritdoc />
    public void SetStatus(DeviceStatus status)
    {
        lock (_control)
        {
            if (status == DeviceStatus.Reset)
            {
                StopQueues();
                _status = DeviceStatus.Reset;
                return;
            }
            if (status.HasFlag(DeviceStatus.FeaturesOk) && !_status.HasFlag(DeviceStatus.FeaturesOk))
            {
                if ((_driver & ~_offered) != 0 || !_driver.HasFlag(VirtioFeatures.Version1))
                {
                    _status = status & ~DeviceStatus.FeaturesOk;     // refused, as a device would: the driver re-reads it
                    return;
                }
                SendFeatures();
            }
            _status = status;
        }
    }

    /// <inheritdoc />
    public VirtioFeatures GetDeviceFeatures() => _offered;

    /// <inheritdoc />
    public void SetDriverFeatures(VirtioFeatures features) => _driver = features;

    /// <inheritdoc />
    public int ConfigSize => _config.Length;

    /// <inheritdoc />
    public int ReadConfig(int offset, Span<byte> destination) => ConfigSpace.Read(_config, offset, destination);

    /// <summary>
    /// Sends SET_CONFIG, then reads the configuration back from the back-end (GET_CONFIG), so that
    /// <see cref="ReadConfig"/> shows what the back-end now reports, not what was asked: a back-end that acknowledges the
    /// write and changes nothing is seen as such.
    /// </summary>
    public void WriteConfig(int offset, ReadOnlySpan<byte> source)
    {
        lock (_control)
        {
            Span<byte> payload = stackalloc byte[ConfigPayload.HeaderSize + source.Length];
            ConfigPayload.Write(payload, (uint)offset, 0, source);
            var channel = Channel();
            channel.Send(VhostUserRequest.SetConfig, payload, needReply: true);
            _config = GetConfig(channel);
        }
    }

    /// <inheritdoc />
    public int MaxQueues { get; private set; }

    /// <inheritdoc />
    public int MaxQueueSize => MaxRingSize;

    /// <inheritdoc />
    public void SetMemoryTable(ReadOnlySpan<MemoryRegion> regions)
    {
        if (regions.Length is < 1 or > VhostUserLimits.MaxRegions)
            throw new ArgumentException($"vhost-user registers 1 to {VhostUserLimits.MaxRegions} memory regions; {regions.Length} were given", nameof(regions));
        foreach (var r in regions)
            if (r.Fd < 0) throw new ArgumentException($"region at 0x{r.GuestAddress:x} has no file descriptor; vhost-user shares memory by fd", nameof(regions));
        lock (_control)
        {
            // The same table again on the same connection (a device reset re-runs initialization): the back-end has it
            // already, and ADD_MEM_REG of a region it holds would be a duplicate slot.
            if (_memorySentOn is not null && _memorySentOn == Volatile.Read(ref _channel) && regions.SequenceEqual(_regions)) return;
            _regions = regions.ToArray();
            SendMemoryTable();
        }
    }

    /// <inheritdoc />
    public void SetupQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick, EventFd? call)
    {
        // A queue index past the back-end's count kills qemu-storage-daemon outright (reference §0.6): never send one.
        if ((uint)index >= (uint)MaxQueues)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Description} serves {MaxQueues} queue(s)");
        if (size is < 1 or > MaxRingSize)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"vhost-user back-ends serve queues of 1 to {MaxRingSize} entries");
        lock (_control)
        {
            var old = _queues[index];
            var setup = new QueueSetup(size, addresses, kick ?? old?.Kick ?? new EventFd(), call ?? old?.Call ?? new EventFd(),
                ownsKick: kick is null && (old is null || old.OwnsKick), ownsCall: call is null && (old is null || old.OwnsCall));
            _queues[index] = setup;
            Volatile.Write(ref _kicks[index], setup.Kick);
            StartQueue(index);
        }
    }

    /// <inheritdoc />
    public void Notify(int index) => _kicks[index]!.Signal();

    /// <inheritdoc />
    public void ResetQueue(int index)
    {
        lock (_control) StopQueue(index);
    }

    /// <inheritdoc />
    /// <remarks>False: GET_VRING_BASE returns while the back-end may still execute requests it popped.</remarks>
    public bool QueueResetWaitsForRequests => false;

    /// <inheritdoc />
    public void EnableQueue(int index)
    {
        lock (_control) StartQueue(index);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A reset by reconnecting: the connection is dropped and opened again, attempt after attempt (bounded exponential
    /// back-off) until <see cref="VhostUserOptions.ReconnectTimeout"/>. Each attempt's handshake waits up to
    /// <see cref="VhostUserOptions.ReplyTimeout"/> for the back-end's first reply, which a back-end still finishing the
    /// old connection's requests gives only once they are done (qemu-storage-daemon's <c>vu_client_trip</c> waits for
    /// them and unmaps the memory before it accepts again; orion-vhost serves one connection at a time and drains its
    /// backend when one ends). GET_VRING_BASE alone would not do: libvhost-user answers it without waiting for requests
    /// still executing, and they complete later into whatever ring is there. The back-end must come back as the same
    /// disk; the driver then initializes it again (features, memory table, queues).
    /// </remarks>
    /// <exception cref="IOException">The back-end did not answer a new connection within the reconnect timeout.</exception>
    /// <exception cref="InvalidDataException">It came back as a different disk or without a feature it offered before.</exception>
    public void ResetDevice()
    {
        lock (_control)
        {
            _status = DeviceStatus.Reset;
            long started = Stopwatch.GetTimestamp();
            var deadline = started + (long)(_options.ReconnectTimeout.TotalSeconds * Stopwatch.Frequency);
            var backoff = LinkSupervisor.FirstBackoff;         // the link supervisor's pace between attempts
            while (true)
            {
                try
                {
                    ReconnectAs(_driver, _config, restoreState: false);
                    Resets++;
                    return;
                }
                catch (Exception e) when (e is IOException or TimeoutException)
                {
                    if (Stopwatch.GetTimestamp() + backoff.TotalSeconds * Stopwatch.Frequency > deadline)
                        throw new IOException($"{Description} did not answer a new connection within {_options.ReconnectTimeout.TotalSeconds:0.#} s " +
                                              $"of the reset (waited {Stopwatch.GetElapsedTime(started).TotalSeconds:0.#} s; last attempt: {e.Message})", e);
                    Thread.Sleep(backoff);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LinkSupervisor.MaxBackoff.Ticks));
                }
            }
        }
    }

    /// <summary>Device resets done by reconnecting (<see cref="ResetDevice"/>).</summary>
    public int Resets { get; private set; }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for the back-end to hang up; true when it has (or no connection is up).</summary>
    public bool WaitForHangUp(int timeoutMs)
    {
        var channel = Volatile.Read(ref _channel);
        return channel is null || channel.WaitForHangUp(timeoutMs);
    }

    /// <summary>Whether no connection is up, or the one that is has been hung up or has failed (no waiting).</summary>
    public bool ConnectionLost => WaitForHangUp(0);

    /// <summary>Drops the current connection (after a hang-up); queues count as stopped.</summary>
    public void Disconnect()
    {
        lock (_control)
        {
            var channel = Interlocked.Exchange(ref _channel, null);
            channel?.Dispose();
            foreach (var q in _queues) if (q is not null) q.Started = false;
        }
    }

    /// <summary>
    /// Connects again (one attempt) and restores the device state the driver had set: the same features (the
    /// back-end must still offer them), the same config (a different capacity or block size is a different disk and
    /// fails), and the memory table. Queues stay stopped: the engine re-creates its rings and calls
    /// <see cref="EnableQueue"/> for each. Throws when the back-end is not back yet or differs.
    /// </summary>
    public void Reconnect()
    {
        lock (_control) ReconnectAs(_driver, _config, restoreState: true);
    }

    /// <summary>
    /// One connection attempt (the old connection dropped first) that must find the same disk; with
    /// <paramref name="restoreState"/> the features and memory table the driver had set are sent again.
    /// </summary>
    private void ReconnectAs(VirtioFeatures wantedFeatures, byte[] oldConfig, bool restoreState)
    {
        Disconnect();
        Open(TimeSpan.Zero, first: false);
        try
        {
            if ((wantedFeatures & ~_offered) != 0)
                throw new InvalidDataException($"{Description} came back without features {(wantedFeatures & ~_offered).Describe()} it offered before");
            var before = BlkConfig.Parse(oldConfig);
            var now = BlkConfig.Parse(_config);
            if (before.Capacity != now.Capacity || before.BlockSize != now.BlockSize)
                throw new InvalidDataException(
                    $"{Description} came back as a different disk: {now.Capacity} sectors of {now.BlockSize} bytes instead of {before.Capacity} of {before.BlockSize}");
            _driver = wantedFeatures;
            if (!restoreState) return;
            if (_status.HasFlag(DeviceStatus.FeaturesOk)) SendFeatures();
            if (_regions.Length > 0) SendMemoryTable();
        }
        catch
        {
            Disconnect();
            throw;
        }
    }

    private void Open(TimeSpan connectTimeout, bool first)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(connectTimeout.TotalSeconds * Stopwatch.Frequency);
        UnixSocket socket;
        while (true)
        {
            try
            {
                socket = UnixSocket.Connect(_path);
                break;
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ECONNREFUSED && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(20);
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ECONNREFUSED)
            {
                throw new VhostUserDisconnectedException(e.Errno == Errno.ENOENT
                    ? $"no vhost-user socket at {_path}: start the back-end first (for example qemu-storage-daemon or orion-vhost)"
                    : $"nothing is listening on {_path} (connection refused): the back-end is not running", e);
            }
        }
        var channel = new VhostUserChannel(socket, _options.ReplyTimeout, _path);
        try
        {
            Handshake(channel, first);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
        Volatile.Write(ref _channel, channel);
        Connections++;
    }

    private void Handshake(VhostUserChannel channel, bool first)
    {
        Span<byte> reply = stackalloc byte[VhostUserLimits.MaxPayloadBytes];
        ulong features = CallU64(channel, VhostUserRequest.GetFeatures, reply);
        _protocolFeatures = (features & VhostUserLimits.ProtocolFeaturesBit) != 0;
        if (!_protocolFeatures)
            throw new NotSupportedException($"{Description} offers no vhost-user protocol features; the engine needs CONFIG to learn the disk's size");
        var offeredProtocol = (VhostUserProtocolFeatures)CallU64(channel, VhostUserRequest.GetProtocolFeatures, reply);
        if (!offeredProtocol.HasFlag(VhostUserProtocolFeatures.Config))
            throw new NotSupportedException($"{Description} does not offer the CONFIG protocol feature; the engine needs it to learn the disk's size");
        var protocol = offeredProtocol & Wanted;
        if (!_options.UseMemorySlots) protocol &= ~VhostUserProtocolFeatures.ConfigureMemSlots;
        Span<byte> u64 = stackalloc byte[8];
        VhostUserU64.Write(u64, (ulong)protocol);
        channel.Send(VhostUserRequest.SetProtocolFeatures, u64);
        channel.ReplyAck = protocol.HasFlag(VhostUserProtocolFeatures.ReplyAck);
        int queues = 1;
        if (protocol.HasFlag(VhostUserProtocolFeatures.Mq))
        {
            ulong n = CallU64(channel, VhostUserRequest.GetQueueNum, reply);
            if (n is 0 or > 256) throw new InvalidDataException($"{Description} reports {n} queues; 1 to 256 are valid");
            queues = (int)n;
        }
        int slots = 0;
        if (protocol.HasFlag(VhostUserProtocolFeatures.ConfigureMemSlots))
        {
            ulong n = CallU64(channel, VhostUserRequest.GetMaxMemSlots, reply);
            if (n is 0 or > 4096) throw new InvalidDataException($"{Description} reports {n} memory slots; 1 to 4096 are plausible");
            slots = (int)n;
        }
        channel.Send(VhostUserRequest.SetOwner, default);
        var config = GetConfig(channel);

        ProtocolFeatures = protocol;
        MaxMemorySlots = slots;
        _offered = (VirtioFeatures)(features & ~VhostUserLimits.ProtocolFeaturesBit);
        _config = config;
        if (first)
        {
            MaxQueues = queues;
            _queues = new QueueSetup?[queues];
            _kicks = new EventFd?[queues];
        }
        else if (queues < MaxQueues)
        {
            throw new InvalidDataException($"{Description} came back with {queues} queue(s) instead of {MaxQueues}");
        }
    }

    private static ulong CallU64(VhostUserChannel channel, VhostUserRequest request, Span<byte> reply)
    {
        int n = channel.Call(request, default, reply);
        if (!VhostUserU64.TryRead(reply[..n], out ulong value))
            throw new InvalidDataException($"vhost-user back-end at {channel.Path} answered {request} with {n} bytes instead of 8");
        return value;
    }

    /// <summary>The configuration space as the back-end reports it now (GET_CONFIG).</summary>
    private byte[] GetConfig(VhostUserChannel channel)
    {
        Span<byte> reply = stackalloc byte[VhostUserLimits.MaxPayloadBytes];
        // Ask for the virtio 1.1 config (60 bytes): qemu-storage-daemon 7.2 answers nothing to a bigger request.
        Span<byte> request = stackalloc byte[ConfigPayload.HeaderSize + BlkConfig.Size];
        ConfigPayload.Write(request, 0, 0, stackalloc byte[BlkConfig.Size]);     // the data: BlkConfig.Size zero bytes
        int got = channel.Call(VhostUserRequest.GetConfig, request, reply);
        if (!ConfigPayload.TryRead(reply[..got], out _, out uint size, out _) || size == 0)
            throw new InvalidDataException($"{Description} returned no config space ({got}-byte reply to GET_CONFIG of {BlkConfig.Size} bytes)");
        if (size < 8) throw new InvalidDataException($"{Description} returned {size} bytes of config; at least the 8-byte capacity is needed");
        return reply.Slice(ConfigPayload.HeaderSize, (int)size).ToArray();
    }

    private VhostUserChannel Channel() =>
        Volatile.Read(ref _channel) ?? throw new VhostUserDisconnectedException($"{Description} is not connected (the back-end went away)");

    private void SendFeatures()
    {
        Span<byte> u64 = stackalloc byte[8];
        VhostUserU64.Write(u64, (ulong)_driver | (_protocolFeatures ? VhostUserLimits.ProtocolFeaturesBit : 0));
        Channel().Send(VhostUserRequest.SetFeatures, u64, needReply: true);
    }

    private void SendMemoryTable()
    {
        // guest address = user address = the engine's DMA address: one consistent scheme, independent of where
        // this process mapped anything (reference §6: the back-end never dereferences the user address).
        Span<VhostMemoryRegion> table = stackalloc VhostMemoryRegion[_regions.Length];
        Span<int> fds = stackalloc int[_regions.Length];
        for (int i = 0; i < _regions.Length; i++)
        {
            var r = _regions[i];
            table[i] = new VhostMemoryRegion(r.GuestAddress, r.Length, r.GuestAddress, (ulong)r.FdOffset);
            fds[i] = r.Fd;
        }
        var channel = Channel();
        if (MaxMemorySlots > 0)
        {
            // CONFIGURE_MEM_SLOTS: one ADD_MEM_REG per region, each acknowledged, up to the back-end's slot count.
            if (table.Length > MaxMemorySlots)
                throw new NotSupportedException($"{Description} accepts {MaxMemorySlots} memory slots; the engine registers {table.Length} regions");
            Span<byte> single = stackalloc byte[SingleMemoryRegion.Size];
            for (int i = 0; i < table.Length; i++)
            {
                SingleMemoryRegion.Write(single, table[i]);
                channel.Send(VhostUserRequest.AddMemReg, single, fds.Slice(i, 1), needReply: true);
            }
            _memorySentOn = channel;
            return;
        }
        Span<byte> payload = stackalloc byte[VhostMemoryTable.SizeFor(table.Length)];
        VhostMemoryTable.Write(payload, table);
        channel.Send(VhostUserRequest.SetMemTable, payload, fds, needReply: true);
        _memorySentOn = channel;
    }

    private void StartQueue(int index)
    {
        var q = _queues[index] ?? throw new InvalidOperationException($"queue {index} was never set up");
        var channel = Channel();
        bool packed = _driver.HasFlag(VirtioFeatures.RingPacked);
        Span<byte> state = stackalloc byte[VringState.Size];
        new VringState((uint)index, (uint)q.Size).Write(state);
        channel.Send(VhostUserRequest.SetVringNum, state);
        // Rings always start fresh (zeroed by the driver): base 0, or a packed ring's initial wrap counters.
        new VringState((uint)index, packed ? PackedVringBase.Fresh : 0).Write(state);
        channel.Send(VhostUserRequest.SetVringBase, state);
        Span<byte> address = stackalloc byte[VringAddress.Size];
        new VringAddress((uint)index, 0, q.Addresses.DescriptorTable, q.Addresses.UsedRing, q.Addresses.AvailRing, 0).Write(address);
        channel.Send(VhostUserRequest.SetVringAddr, address);
        Span<byte> file = stackalloc byte[VringFile.Size];
        new VringFile((uint)index, false).Write(file);
        channel.Send(VhostUserRequest.SetVringKick, file, [q.Kick.Fd]);
        channel.Send(VhostUserRequest.SetVringCall, file, [q.Call.Fd]);
        new VringState((uint)index, 1).Write(state);
        // The ack is the barrier that makes the queue live before the driver's first kick.
        channel.Send(VhostUserRequest.SetVringEnable, state, needReply: true);
        q.Started = true;
    }

    private void StopQueue(int index)
    {
        var q = _queues[index];
        if (q is null || !q.Started) return;
        var channel = Channel();
        Span<byte> state = stackalloc byte[VringState.Size];
        new VringState((uint)index, 0).Write(state);
        channel.Send(VhostUserRequest.SetVringEnable, state);
        Span<byte> reply = stackalloc byte[VhostUserLimits.MaxPayloadBytes];
        int n = channel.Call(VhostUserRequest.GetVringBase, state, reply);
        if (!VringState.TryRead(reply[..n], out var stopped) || stopped.Index != (uint)index)
            throw channel.Abandon(VhostUserRequest.GetVringBase, $"answered for queue {index} with {n} bytes");
        // Only a confirmed stop frees the ring for reuse. On any failure above the queue stays "started" and the channel
        // is ended: the ring is rebuilt only after a reconnect, which the back-end serves once it let the old one go.
        q.Started = false;
        LastStoppedBase = stopped.Num;
    }

    /// <summary>The base the back-end reported when it last stopped a queue (GET_VRING_BASE), for diagnostics and tests.</summary>
    public uint LastStoppedBase { get; private set; }

    private void StopQueues()
    {
        if (Volatile.Read(ref _channel) is null) return;
        for (int i = 0; i < _queues.Length; i++)
        {
            try { StopQueue(i); }
            catch (VhostUserDisconnectedException) { Disconnect(); return; }
        }
    }

    /// <summary>Stops the queues (when connected), closes the connection and the eventfds the transport created.</summary>
    public void Dispose()
    {
        lock (_control)
        {
            StopQueues();
            Disconnect();
            foreach (var q in _queues)
            {
                if (q is null) continue;
                if (q.OwnsKick) q.Kick.Dispose();
                if (q.OwnsCall) q.Call.Dispose();
            }
            _queues = [];
        }
    }
}
