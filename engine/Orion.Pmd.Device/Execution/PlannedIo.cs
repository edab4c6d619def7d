namespace Orion.Pmd.Device.Execution;

/// <summary>What an asynchronous backend queue is asked to do for one request.</summary>
public enum PlannedIoKind : byte
{
    /// <summary>Read <see cref="PlannedIo.Length"/> bytes at <see cref="PlannedIo.Offset"/> into the chain's writable data buffers.</summary>
    Read = 1,
    /// <summary>Write the chain's readable data (after the header) at <see cref="PlannedIo.Offset"/>.</summary>
    Write,
    /// <summary>Make every write completed so far durable.</summary>
    Flush,
    /// <summary>Deallocate <see cref="PlannedIo.Length"/> bytes at <see cref="PlannedIo.Offset"/> (a one-range DISCARD).</summary>
    Discard,
    /// <summary>Write zeroes over <see cref="PlannedIo.Length"/> bytes at <see cref="PlannedIo.Offset"/> (a one-range WRITE_ZEROES).</summary>
    WriteZeroes,
}

/// <summary>
/// A validated read, write, flush or (for backends that carry them) one-range discard or write-zeroes (<see cref="BlkRequestExecutor.TryPlan"/>): the byte offset and length in the
/// backend, and whether the write must be durable before it completes (the device is in write-through mode).
/// </summary>
public readonly record struct PlannedIo(PlannedIoKind Kind, long Offset, ulong Length, bool WriteThrough);
