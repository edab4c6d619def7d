using System.Collections.Concurrent;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests.Support;

/// <summary>
/// A small virtio-blk driver for tests: one memfd region registered with the device at a guest base unlike its host
/// address, the status handshake, split rings driven by <see cref="SplitQueueDriver"/> over the driver's own mapping,
/// and helpers to submit requests (indirect or direct, framed plainly or oddly) and wait for them. In
/// <see cref="DeviceServiceMode.Manual"/> it serves the device by calling <see cref="SoftBlkDevice.Poll"/>; otherwise it
/// spins with a deadline while the device's threads do the work.
/// </summary>
internal sealed unsafe partial class MiniDriver : IDisposable
{
    public const ulong DefaultGuestBase = 0x40_0000_0000;
    private const int ManualPollBudget = 1000;

    private readonly MiniDriverOptions _options;
    private readonly bool _ownsDevice;
    private readonly SplitRingLayout _layout;
    private readonly int _ringStride;
    private readonly long _dataStart;
    private long _cursor;
    private readonly Dictionary<int, Pending>[] _inFlight;
    private bool _disposed;

    /// <summary>Creates the region and kick/call eventfds for <paramref name="device"/>; nothing is told to the device yet.</summary>
    public MiniDriver(SoftBlkDevice device, MiniDriverOptions? options = null, bool ownsDevice = true)
    {
        _options = options ?? new MiniDriverOptions();
        _ownsDevice = ownsDevice;
        Device = device;
        if (device.Options.Mode == DeviceServiceMode.Polled && !device.Options.YieldWhenIdle)
            throw new ArgumentException("test setup: a polled device must yield when idle on a 2-core machine", nameof(device));
        _layout = SplitRingLayout.Compute(_options.QueueSize);
        _ringStride = (_layout.TotalBytes + 4095) & ~4095;
        MemfdName = $"orion-devtest-{Guid.NewGuid():N}";
        Memory = SharedMemory.Create(MemfdName, _options.RegionBytes);
        if ((ulong)Memory.Pointer == _options.GuestBase)
            throw new InvalidOperationException("test setup: the guest base must differ from the host address");
        _dataStart = (long)_ringStride * device.NumQueues;
        if (_dataStart >= Memory.Length) throw new ArgumentException("test setup: region too small for the rings", nameof(options));
        _cursor = _dataStart;
        Queues = new SplitQueueDriver?[device.NumQueues];
        KickFds = new EventFd?[device.NumQueues];
        CallFds = new EventFd?[device.NumQueues];
        _inFlight = new Dictionary<int, Pending>[device.NumQueues];
        for (int q = 0; q < device.NumQueues; q++)
        {
            _inFlight[q] = [];
            if (_options.KickEventFds) KickFds[q] = new EventFd();
            if (_options.CallEventFds) CallFds[q] = new EventFd();
        }
        device.QueueBroken += OnQueueBroken;
    }

    /// <summary>Creates a device over <paramref name="backend"/> and a driver that owns it, and runs the whole handshake.</summary>
    public static MiniDriver Start(IBlockBackend backend, SoftBlkDeviceOptions? deviceOptions = null, MiniDriverOptions? options = null)
    {
        var driver = new MiniDriver(new SoftBlkDevice(backend, deviceOptions ?? new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual }), options);
        try
        {
            driver.Initialize();
            return driver;
        }
        catch
        {
            driver.Dispose();
            throw;
        }
    }

    public SoftBlkDevice Device { get; }
    public SharedMemory Memory { get; }
    /// <summary>The region's memfd name, unique per driver (as /proc/self/maps shows it: <c>/memfd:NAME</c>).</summary>
    public string MemfdName { get; }

    /// <summary>How many mappings of this driver's memfd the process holds (the driver's own plus the device's).</summary>
    public int MappingCount() => File.ReadLines("/proc/self/maps").Count(l => l.Contains($"/memfd:{MemfdName}", StringComparison.Ordinal));
    public ulong GuestBase => _options.GuestBase;
    public MiniDriverOptions Options => _options;
    public SplitRingLayout Layout => _layout;
    public SplitQueueDriver?[] Queues { get; }
    public EventFd?[] KickFds { get; }
    public EventFd?[] CallFds { get; }
    /// <summary>Features written with SetDriverFeatures.</summary>
    public VirtioFeatures Negotiated { get; private set; }
    /// <summary>Every QueueBroken event the device raised (any thread).</summary>
    public ConcurrentQueue<(int Queue, VirtqueueError Error, string Message)> BrokenEvents { get; } = new();
    public bool Manual => Device.Options.Mode == DeviceServiceMode.Manual;

    private void OnQueueBroken(int queue, VirtqueueError error, string message) => BrokenEvents.Enqueue((queue, error, message));

    // ------------------------------------------------------------------ handshake (VirtIO 1.1 §3.1.1)

    /// <summary>Feature negotiation (from reset; asserting FEATURES_OK stuck), memory table, rings, queue setup, DRIVER_OK.</summary>
    public void Initialize()
    {
        if (!Negotiate())
            throw new InvalidOperationException($"test setup: the device refused features {Negotiated.Describe()}");
        RegisterMemory();
        CreateRings();
        SetupQueues();
        DriverOk();
    }

    /// <summary>SetMemoryTable with the one region (fd, guest base).</summary>
    public void RegisterMemory()
    {
        nint host = _options.PassHostPointer ? (nint)Memory.Pointer : 0;
        long split = _options.SplitRegionAt;
        if (split <= 0)
        {
            Device.SetMemoryTable([new MemoryRegion(GuestBase, (ulong)Memory.Length, host, Memory.Fd)]);
            return;
        }
        Device.SetMemoryTable([
            new MemoryRegion(GuestBase, (ulong)split, host, Memory.Fd),
            new MemoryRegion(GuestBase + (ulong)split, (ulong)(Memory.Length - split), host == 0 ? 0 : host + (nint)split, Memory.Fd, split),
        ]);
    }

    /// <summary>Reset (which also drops the memory table), ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns whether FEATURES_OK stuck.</summary>
    public bool Negotiate(VirtioFeatures? exactly = null)
    {
        const DeviceStatus basic = DeviceStatus.Acknowledge | DeviceStatus.Driver;
        Device.SetStatus(DeviceStatus.Reset);
        Device.SetStatus(DeviceStatus.Acknowledge);
        Device.SetStatus(basic);
        Negotiated = exactly ?? (Device.OfferedFeatures & _options.Accept & ~VirtioFeatures.RingPacked);   // the mini driver builds split rings only
        Device.SetDriverFeatures(Negotiated);
        Device.SetStatus(basic | DeviceStatus.FeaturesOk);
        return Device.Status.HasFlag(DeviceStatus.FeaturesOk);
    }

    /// <summary>Lays out and zeroes each queue's ring with the driver's <see cref="SplitQueueDriver"/> (before DRIVER_OK).</summary>
    public void CreateRings()
    {
        bool eventIdx = Negotiated.HasFlag(VirtioFeatures.RingEventIdx);
        for (int q = 0; q < Queues.Length; q++)
        {
            Queues[q] = new SplitQueueDriver(Memory.Pointer + RingOffset(q), _layout, eventIdx, suppressInterrupts: _options.SuppressInterrupts);
            _inFlight[q].Clear();
        }
    }

    public long RingOffset(int queue) => (long)_ringStride * queue;

    /// <summary>Guest addresses of queue <paramref name="queue"/>'s three parts.</summary>
    public SplitRingAddresses RingAddresses(int queue)
    {
        ulong b = GuestBase + (ulong)RingOffset(queue);
        return new SplitRingAddresses(b + (ulong)_layout.DescriptorTableOffset, b + (ulong)_layout.AvailOffset, b + (ulong)_layout.UsedOffset);
    }

    /// <summary>SetupQueue for every queue (or the ones named).</summary>
    public void SetupQueues(params int[] which)
    {
        var queues = which.Length == 0 ? Enumerable.Range(0, Queues.Length) : which;
        foreach (int q in queues)
            Device.SetupQueue(q, _options.QueueSize, RingAddresses(q), KickFds[q], CallFds[q]);
    }

    public void DriverOk() =>
        Device.SetStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);

    // ------------------------------------------------------------------ memory

    /// <summary>The driver's own view of guest bytes [guest, +length).</summary>
    public Span<byte> Host(ulong guest, int length)
    {
        if (guest < GuestBase || guest - GuestBase + (ulong)length > (ulong)Memory.Length)
            throw new ArgumentOutOfRangeException(nameof(guest), $"test setup: 0x{guest:x} +{length} is outside the region");
        return Memory.GetSpan((long)(guest - GuestBase), length);
    }

    /// <summary>Bump-allocates request memory (wrapping to the start of the data area when full).</summary>
    public ulong Allocate(int bytes, int alignment = 64)
    {
        long size = Math.Max(bytes, 1);
        if (size > Memory.Length - _dataStart) throw new ArgumentOutOfRangeException(nameof(bytes), "test setup: allocation larger than the data area");
        long at = (_cursor + alignment - 1) & ~(long)(alignment - 1);
        if (at + size > Memory.Length) at = _dataStart;
        long split = _options.SplitRegionAt;
        if (split > 0 && at < split && at + size > split) at = split;     // a buffer lies inside one memory-table entry
        _cursor = at + size;
        return GuestBase + (ulong)at;
    }

    /// <summary>Stops the device first (threads joined, its mappings gone), then frees eventfds and memory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Device.QueueBroken -= OnQueueBroken;
        if (_ownsDevice) Device.Dispose();
        else Device.Reset();
        foreach (var fd in KickFds) fd?.Dispose();
        foreach (var fd in CallFds) fd?.Dispose();
        Memory.Dispose();
    }
}
