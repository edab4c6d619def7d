using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.VhostUser;

// Vring requests (libvhost-user semantics): NUM, ADDR and BASE describe a stopped ring, KICK starts it, ENABLE gates
// it, GET_VRING_BASE stops it and reports where. A ring is served while it is both started and enabled.
internal sealed partial class VhostUserSession
{
    private VringSlot Slot(VhostUserRequest r, uint index) =>
        index < (uint)_vrings.Length ? _vrings[index]
            : throw new VhostUserProtocolException($"{Name(r)} names queue {index}; this device has {_vrings.Length} queue(s), 0 to {_vrings.Length - 1}");

    private bool AnyRunning() => _vrings.Any(v => v.Running);

    private static void RefuseWhileRunning(VhostUserRequest r, VringSlot v)
    {
        if (v.Running)
            throw new VhostUserProtocolException($"{Name(r)} for queue {v.Index} while it runs; stop it with GetVringBase first");
    }

    private void SetVringNum(VringState s)
    {
        var v = Slot(VhostUserRequest.SetVringNum, s.Index);
        RefuseWhileRunning(VhostUserRequest.SetVringNum, v);
        int max = _device.MaxQueueSize;
        if (s.Num == 0 || s.Num > (uint)max)
            throw new VhostUserProtocolException($"SetVringNum {s.Num} for queue {v.Index}; the size must be 1 to {max}");
        // Until SET_FEATURES says packed, a ring is split and its size a power of two (checked again when it starts).
        if (_featuresSet && !Packed && (s.Num & (s.Num - 1)) != 0)
            throw new VhostUserProtocolException($"SetVringNum {s.Num} for queue {v.Index}; a split ring's size is a power of two up to {max}");
        v.Size = (int)s.Num;
    }

    private void SetVringAddr(ReadOnlySpan<byte> payload)
    {
        if (!VringAddress.TryRead(payload, out var a))
            throw new VhostUserProtocolException($"SetVringAddr takes a {VringAddress.Size}-byte payload; it came with {payload.Length} bytes");
        var v = Slot(VhostUserRequest.SetVringAddr, a.Index);
        RefuseWhileRunning(VhostUserRequest.SetVringAddr, v);
        if ((a.Flags & 1) != 0)
            throw new VhostUserProtocolException($"SetVringAddr for queue {v.Index} asks for dirty logging (flag VHOST_VRING_F_LOG); this back-end does not offer VHOST_F_LOG_ALL");
        if (a.Flags != 0)
            throw new VhostUserProtocolException($"SetVringAddr for queue {v.Index} has flags 0x{a.Flags:x}; only bit 0 (logging) is defined");
        if (_userMap.IsEmpty)
            throw new VhostUserProtocolException($"SetVringAddr for queue {v.Index} before SetMemTable: ring addresses are user addresses of the memory table");
        v.DescUser = a.DescriptorTable;
        v.AvailUser = a.AvailRing;
        v.UsedUser = a.UsedRing;
        v.HasAddresses = true;
        TranslateRing(v);
    }

    /// <summary>
    /// Translates the ring's user addresses into guest addresses: each area aligned as its format requires and wholly
    /// inside one region (sized by SET_VRING_NUM when it came first; the device checks the full sizes again at start).
    /// </summary>
    private void TranslateRing(VringSlot v)
    {
        int n = v.Size;
        bool packed = Packed;
        v.Guest = new SplitRingAddresses(
            DescriptorTable: Translate(v, v.DescUser, n == 0 ? 1 : (ulong)(packed ? PackedRingLayout.DescriptorRingBytes(n) : SplitRingLayout.DescriptorTableBytes(n)), 16,
                packed ? "descriptor ring" : "descriptor table"),
            AvailRing: Translate(v, v.AvailUser, n == 0 ? 1 : (ulong)(packed ? PackedRingLayout.EventSuppressionSize : SplitRingLayout.AvailBytes(n)), packed ? 4UL : 2UL,
                packed ? "driver area" : "avail ring"),
            UsedRing: Translate(v, v.UsedUser, n == 0 ? 1 : (ulong)(packed ? PackedRingLayout.EventSuppressionSize : SplitRingLayout.UsedBytes(n)), 4,
                packed ? "device area" : "used ring"));
    }

    private ulong Translate(VringSlot v, ulong user, ulong length, ulong alignment, string what)
    {
        if ((user & (alignment - 1)) != 0)
            throw new VhostUserProtocolException($"queue {v.Index}'s {what} at user address 0x{user:x} is not {alignment}-byte aligned");
        if (!_userMap.TryTranslate(user, length, out ulong guest))
            throw new VhostUserProtocolException(
                $"queue {v.Index}'s {what} [0x{user:x}, +{length}) does not lie inside one region of the memory table (by user address)");
        return guest;
    }

    private void SetVringBase(VringState s)
    {
        var v = Slot(VhostUserRequest.SetVringBase, s.Index);
        RefuseWhileRunning(VhostUserRequest.SetVringBase, v);
        if (_featuresSet && !Packed && s.Num > ushort.MaxValue)
            throw new VhostUserProtocolException($"SetVringBase {s.Num} for split queue {v.Index}; a split ring's base is a 16-bit avail index");
        v.Base = s.Num;
    }

    private void GetVringBase(VringState s)
    {
        var v = Slot(VhostUserRequest.GetVringBase, s.Index);
        if (v.Running) StopRing(v);
        // As libvhost-user: the ring is no longer started, and its kick and call fds are dropped (a re-arm sends new ones).
        v.Started = false;
        v.CloseFds();
        Span<byte> reply = stackalloc byte[VringState.Size];
        new VringState(s.Index, v.Base).Write(reply);
        Reply(VhostUserRequest.GetVringBase, reply);
    }

    private void SetVringKick(VringFile f)
    {
        var v = Slot(VhostUserRequest.SetVringKick, f.Index);
        EventFd? kick = f.NoFd ? null : Wrap(VhostUserRequest.SetVringKick, f.Index);
        if (f.NoFd && _fdCount != 0)
            throw new VhostUserProtocolException($"SetVringKick for queue {f.Index} has the no-fd flag but carries {_fdCount} fd(s)");
        if (v.Running) StopRing(v);
        v.Kick?.Dispose();
        v.Kick = kick;
        v.KickNoFd = f.NoFd;
        v.Started = true;
        if (!v.HasAddresses || v.Size == 0 || !_featuresSet)
            throw new VhostUserProtocolException(
                $"SetVringKick starts queue {v.Index}, but {(!_featuresSet ? "SetFeatures" : v.Size == 0 ? "SetVringNum" : "SetVringAddr")} has not been sent for it");
        Apply(v);
    }

    private void SetVringCall(VringFile f)
    {
        var v = Slot(VhostUserRequest.SetVringCall, f.Index);
        EventFd? call = f.NoFd ? null : Wrap(VhostUserRequest.SetVringCall, f.Index);
        if (f.NoFd && _fdCount != 0)
            throw new VhostUserProtocolException($"SetVringCall for queue {f.Index} has the no-fd flag but carries {_fdCount} fd(s)");
        // A running queue takes the new fd by a stop and a restart where it stopped (QEMU swaps call fds at run time).
        bool wasRunning = v.Running;
        if (wasRunning) StopRing(v);
        v.Call?.Dispose();
        v.Call = call;
        if (wasRunning) Apply(v);
    }

    private void SetVringErr(VringFile f)
    {
        Slot(VhostUserRequest.SetVringErr, f.Index);
        if (f.NoFd) return;
        // Accepted and closed: this back-end reports a broken queue by closing the connection.
        FileDescriptor.Close(TakeOneFd(VhostUserRequest.SetVringErr, f.Index));
    }

    private void SetVringEnable(VringState s)
    {
        var v = Slot(VhostUserRequest.SetVringEnable, s.Index);
        // QEMU sends 1; one SPDK version sends the queue size: any non-zero value enables.
        v.Enabled = s.Num != 0;
        Apply(v);
    }

    private EventFd Wrap(VhostUserRequest r, uint index)
    {
        int fd = TakeOneFd(r, index);
        // Kick and call fds are eventfds (QEMU, SPDK, DPDK, rust-vmm all send one); anything else (a pipe, a file, the
        // socket itself) would fail or block on the device thread, so it is refused here.
        string? kind = FdKind(fd);
        if (kind is not null && kind != "anon_inode:[eventfd]")
        {
            FileDescriptor.Close(fd);
            throw new VhostUserProtocolException($"{Name(r)} for queue {index} carries an fd that is not an eventfd ({kind})");
        }
        try
        {
            // Non-blocking, as QEMU makes every fd it receives: the device thread must never sit in write(2) on a full
            // call fd (or read(2) on a kick fd) a peer handed over blocking; a lost interrupt is all that can happen.
            return EventFd.FromFd(fd, ownsFd: true, makeNonBlocking: true);
        }
        catch (LinuxException e)
        {
            FileDescriptor.Close(fd);
            throw new VhostUserProtocolException($"{Name(r)} for queue {index} carries an fd that cannot be used ({e.Message})", e);
        }
    }

    /// <summary>What /proc says the fd is (<c>anon_inode:[eventfd]</c>, <c>pipe:[…]</c>, a path), or null when /proc cannot tell.</summary>
    private static string? FdKind(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Starts or stops the device's queue so that it runs exactly while started and enabled.</summary>
    private void Apply(VringSlot v)
    {
        bool enabled = v.Enabled ?? !ProtocolFeaturesNegotiated;
        bool shouldRun = v.Started && enabled;
        if (shouldRun && !v.Running) StartRing(v);
        else if (!shouldRun && v.Running) StopRing(v);
    }

    private void StartRing(VringSlot v)
    {
        QueuePosition start;
        if (Packed)
        {
            PackedVringBase.Decode(v.Base, out ushort avail, out bool availWrap, out ushort used, out bool usedWrap);
            start = new QueuePosition(avail, availWrap, used, usedWrap);
        }
        else start = QueuePosition.Split((ushort)v.Base);
        // No kick fd: the front-end will not kick, so the device polls this ring whatever its mode.
        DeviceServiceMode? mode = v.Kick is null ? DeviceServiceMode.Polled : null;
        try
        {
            _device.StartQueue(v.Index, v.Size, v.Guest, v.Kick, v.Call, start, mode);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new VhostUserProtocolException($"queue {v.Index} cannot start: {e.Message}", e);
        }
        v.Running = true;
    }

    private void StopRing(VringSlot v)
    {
        LogQueueStats(v.Index);
        var stopped = _device.StopQueue(v.Index) ?? throw new InvalidOperationException($"queue {v.Index} was not running on the device");
        v.Base = Packed
            ? PackedVringBase.Encode(stopped.AvailIndex, stopped.AvailWrap, stopped.UsedIndex, stopped.UsedWrap)
            : stopped.AvailIndex;
        v.Running = false;
    }
}
