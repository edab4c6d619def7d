using Orion.Pmd.Virtio;

namespace Orion.Pmd.Device.Execution;

/// <summary>What a request executor needs to know about the device it serves (fixed while the device runs).</summary>
public sealed record BlkDeviceSettings
{
    /// <summary>Logical block size in bytes (512, 4096, ...): requests must be aligned to it.</summary>
    public int LogicalBlockSize { get; init; } = 512;
    /// <summary>Whether writes, discards and write-zeroes are refused with IOERR.</summary>
    public bool ReadOnly { get; init; }
    /// <summary>Features the driver accepted: request types whose feature was not negotiated are UNSUPP.</summary>
    public VirtioFeatures Negotiated { get; init; }
    /// <summary>The serial number GET_ID returns (at most 20 bytes, NUL-padded).</summary>
    public string Serial { get; init; } = "orion-pmd";
    /// <summary>
    /// Longest buffer of a chain (<c>size_max</c>), at most <see cref="int.MaxValue"/> so that every piece of a chain is a
    /// span; a chain with a longer one is IOERR.
    /// </summary>
    public uint MaxSegmentBytes { get; init; } = 1u << 30;
    /// <summary>Most ranges in one DISCARD request.</summary>
    public uint MaxDiscardSegments { get; init; } = 16;
    /// <summary>Most sectors in one DISCARD range.</summary>
    public uint MaxDiscardSectors { get; init; } = 1u << 22;
    /// <summary>Most ranges in one WRITE_ZEROES request.</summary>
    public uint MaxWriteZeroesSegments { get; init; } = 16;
    /// <summary>Most sectors in one WRITE_ZEROES range.</summary>
    public uint MaxWriteZeroesSectors { get; init; } = 1u << 22;
    /// <summary>The device's write-cache switch, shared with the device so that a CONFIG_WCE change applies at once.</summary>
    public WriteCacheState WriteCache { get; init; } = new();
    /// <summary>Whether WRITE_ZEROES with the unmap flag may deallocate.</summary>
    public bool WriteZeroesMayUnmap { get; init; } = true;
    /// <summary>Latency injection for tests and gates: busy-wait this long per request before completing it (see <see cref="SoftBlkDeviceOptions.InjectedLatency"/>).</summary>
    public TimeSpan InjectedLatency { get; init; }
    /// <summary>Fault injection (see <see cref="SoftBlkDeviceOptions.Faults"/>); null injects nothing.</summary>
    public Faults.FaultPlan? Faults { get; init; }
}

/// <summary>Whether the device runs with a volatile write cache; read by device threads on every write.</summary>
public sealed class WriteCacheState
{
    private volatile bool _enabled = true;

    /// <summary>True: writes complete when in the cache and FLUSH makes them durable. False: write-through.</summary>
    public bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }
}
