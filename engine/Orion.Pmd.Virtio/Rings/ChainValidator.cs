using Orion.Pmd.Virtio.Memory;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// What the device side checks in every descriptor chain, in either ring format, and the latch that breaks the queue
/// on the first inconsistency (the first error is kept; nothing un-breaks a queue but a new one). Each buffer must lie
/// in registered memory, device-readable buffers must come before device-writable ones, the chain must stay under
/// 4 GiB and fit the chain's capacity, and an indirect table must be a whole number of 16-byte entries in registered
/// memory. Messages name the chain the way its format does: by head (split) or by ring position (packed).
/// </summary>
internal sealed unsafe class ChainValidator(MemoryRegionTable memory, bool packed)
{
    /// <summary>Entries of an indirect table at most (the split format's 16-bit links bound it; packed is held to the same).</summary>
    public const int MaxIndirectEntries = 65535;

    /// <summary>Why the queue is broken; <see cref="VirtqueueError.None"/> while it is not.</summary>
    public VirtqueueError Error { get; private set; }

    /// <summary>Human description of <see cref="Error"/>.</summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>True once the first inconsistency was found.</summary>
    public bool IsBroken => Error != VirtqueueError.None;

    /// <summary>Latches <paramref name="error"/> (the first one wins) and returns false, so callers can <c>return Break(...)</c>.</summary>
    public bool Break(VirtqueueError error, string message)
    {
        if (!IsBroken)
        {
            Error = error;
            ErrorMessage = message;
        }
        return false;
    }

    /// <summary>"chain of head 3" (split) or "chain at ring position 3" (packed).</summary>
    public string Chain(ushort at) => packed ? $"chain at ring position {at}" : $"chain of head {at}";

    /// <summary>"head 3" (split) or "the chain at ring position 3" (packed): what a buffer or table belongs to.</summary>
    public string Owner(ushort at) => packed ? $"the chain at ring position {at}" : $"head {at}";

    /// <summary>Checks one buffer of the chain at <paramref name="at"/> and adds it to <paramref name="chain"/>.</summary>
    public bool AddSegment(ushort at, ulong address, uint length, bool writable, DescriptorChain chain, ref bool sawWritable, ref ulong total)
    {
        if (!writable && sawWritable)
            return Break(VirtqueueError.ReadableAfterWritable, $"{Chain(at)} has a device-readable buffer after a device-writable one");
        sawWritable |= writable;
        if (!memory.TryTranslate(address, length, out var host))
            return Break(VirtqueueError.AddressOutOfRange, $"buffer [0x{address:x}, +{length}) of {Owner(at)} lies outside registered memory");
        total += length;
        if (total > uint.MaxValue)
            return Break(VirtqueueError.ChainTooLong, $"{Chain(at)} is longer than 4 GiB");
        if (!chain.TryAdd(new ChainSegment((nint)host, length, writable)))
            return Break(VirtqueueError.ChainTooLong, $"{Chain(at)} has more than {chain.Capacity} buffers");
        return true;
    }

    /// <summary>
    /// Checks the indirect table of the chain at <paramref name="at"/> (both formats' entries are 16 bytes) and maps
    /// it: <paramref name="host"/> and <paramref name="entries"/> are valid when this returns true.
    /// </summary>
    public bool MapIndirectTable(ushort at, ulong address, uint length, out byte* host, out int entries)
    {
        host = null;
        entries = 0;
        if (length == 0 || length % VirtqDescriptor.Size != 0 || length / VirtqDescriptor.Size > MaxIndirectEntries)
            return Break(VirtqueueError.IndirectTableInvalid,
                $"indirect table of {Owner(at)} has length {length}: not a non-zero multiple of 16" + (packed ? $" up to {MaxIndirectEntries} entries" : ""));
        if (!memory.TryTranslate(address, length, out host))
            return Break(VirtqueueError.AddressOutOfRange, $"indirect table of {Owner(at)} at [0x{address:x}, +{length}) lies outside registered memory");
        entries = (int)(length / VirtqDescriptor.Size);
        return true;
    }

    /// <summary>An indirect table holds another indirect descriptor at <paramref name="entry"/>: refused (§2.7.7 / §2.6.5.3.1).</summary>
    public bool NestedIndirect(ushort at, int entry)
        => Break(VirtqueueError.NestedIndirect, $"indirect table of {Owner(at)} holds another indirect descriptor at entry {entry}");
}
