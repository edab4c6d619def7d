namespace Orion.Pmd.Virtio;

/// <summary>Named reasons a virtqueue is latched broken. Each is an inconsistency written by the other side.</summary>
public enum VirtqueueError
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>A used element names a descriptor index at or beyond the queue size.</summary>
    UsedIdOutOfRange,
    /// <summary>A used element names a descriptor that is not the head of a chain the driver made available (or it completed twice).</summary>
    UsedIdNotHead,
    /// <summary>A used element reports more bytes written than the chain's device-writable buffers hold.</summary>
    UsedLengthTooLarge,
    /// <summary>The used index moved by more entries than the driver has outstanding.</summary>
    UsedIndexRunsAhead,
    /// <summary>The avail index moved by more than the queue size since the device last looked.</summary>
    AvailIndexRunsAhead,
    /// <summary>A descriptor index (head or next) is at or beyond the table size.</summary>
    DescriptorIndexOutOfRange,
    /// <summary>A descriptor chain is longer than its table: it loops.</summary>
    DescriptorChainLoop,
    /// <summary>An indirect descriptor appears inside an indirect table.</summary>
    NestedIndirect,
    /// <summary>An indirect table's length is zero, not a multiple of 16, or too large.</summary>
    IndirectTableInvalid,
    /// <summary>A descriptor has both INDIRECT and NEXT set, or INDIRECT was not negotiated.</summary>
    IndirectNotAllowed,
    /// <summary>A buffer address range lies outside every registered memory region.</summary>
    AddressOutOfRange,
    /// <summary>A device-readable descriptor follows a device-writable one.</summary>
    ReadableAfterWritable,
    /// <summary>A chain has more segments or bytes than the device accepts.</summary>
    ChainTooLong,
    /// <summary>A packed-ring wrap counter or flag combination is inconsistent.</summary>
    WrapCounterInvalid,
    /// <summary>A packed-ring available descriptor carries a buffer id at or beyond the queue size.</summary>
    BufferIdOutOfRange,
    /// <summary>A packed-ring available buffer reuses the id of a buffer the device has not completed yet.</summary>
    BufferIdInUse,
}

/// <summary>Thrown (or reported) when a virtqueue is latched broken: the other side wrote something inconsistent.</summary>
public sealed class VirtqueueBrokenException : IOException
{
    /// <summary>Creates the exception.</summary>
    public VirtqueueBrokenException(VirtqueueError error, string message) : base(message) => Error = error;

    /// <summary>The named reason.</summary>
    public VirtqueueError Error { get; }
}
