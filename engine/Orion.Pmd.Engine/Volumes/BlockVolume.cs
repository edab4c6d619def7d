using Orion.Pmd.Engine.Memory;

namespace Orion.Pmd.Engine.Volumes;

/// <summary>
/// An LBA range of a <see cref="BlockDevice"/> handed to one user, read-only or read-write
/// (<see cref="BlockDevice.CreateVolume"/>). It offers the device's data API with LBAs relative to its first block:
/// LBA 0 is the device's <see cref="FirstLba"/>. A request outside the volume throws
/// <see cref="ArgumentOutOfRangeException"/>; a write, discard or write-zeroes on a read-only volume throws
/// <see cref="VolumeAccessDeniedException"/>; both are refused before anything is submitted, and written to the
/// audit log. Requests go through the device's own checks and submission path, so everything the device refuses
/// (its own read-only state, lengths, features, limits) a volume refuses too.
/// </summary>
/// <remarks>
/// <see cref="FlushAsync"/> is device-wide (VirtIO has no ranged flush), so it is allowed on any volume. After
/// <see cref="BlockDevice.RemoveVolume"/> every new request throws <see cref="ObjectDisposedException"/>; requests
/// already submitted finish normally. Buffers (<see cref="Rent"/>) come from the engine's shared pool: set
/// <see cref="EngineOptions.ZeroBuffersOnReturn"/> when users must not see each other's returned buffers.
/// </remarks>
public sealed class BlockVolume
{
    private volatile bool _removed;

    internal BlockVolume(BlockDevice device, string name, long firstLba, long blocks, VolumeAccess access)
    {
        Device = device;
        Name = name;
        FirstLba = firstLba;
        BlockCount = blocks;
        Access = access;
    }

    /// <summary>The volume's name (unique on its device; audit events carry it).</summary>
    public string Name { get; }
    /// <summary>The device the volume is carved from.</summary>
    public BlockDevice Device { get; }
    /// <summary>The device LBA of the volume's LBA 0.</summary>
    public long FirstLba { get; }
    /// <summary>Capacity in logical blocks: valid LBAs are 0 to <c>BlockCount - 1</c>.</summary>
    public long BlockCount { get; }
    /// <summary>What the volume permits.</summary>
    public VolumeAccess Access { get; }
    /// <summary>Logical block size in bytes (the device's).</summary>
    public int BlockSize => Device.BlockSize;
    /// <summary>Capacity in bytes.</summary>
    public long CapacityBytes => BlockCount * BlockSize;
    /// <summary>Whether writes are refused: the volume is <see cref="VolumeAccess.ReadOnly"/> or its device is read-only.</summary>
    public bool ReadOnly => Access == VolumeAccess.ReadOnly || Device.ReadOnly;
    /// <summary>Whether the volume was removed (every new request is refused).</summary>
    public bool IsRemoved => _removed;
    /// <summary>The memory alignment buffers should have for zero-copy I/O (what <see cref="Rent"/> gives).</summary>
    public int BufferAlignment => Device.BufferAlignment;
    /// <summary>Most buffers in one vectored request.</summary>
    public int MaxSegments => Device.MaxSegments;
    /// <summary>Largest transfer in bytes from one buffer.</summary>
    public int MaxTransferBytes => Device.MaxTransferBytes;

    /// <summary>Rents a zero-copy DMA buffer of <paramref name="length"/> bytes from the engine's pool. Dispose it to return it.</summary>
    public DmaBuffer Rent(int length)
    {
        ThrowIfRemoved();
        return Device.Rent(length);
    }

    /// <summary>Reads <c>buffer.Length</c> bytes starting at volume block <paramref name="lba"/>.</summary>
    public ValueTask ReadAsync(long lba, Memory<byte> buffer, CancellationToken cancellationToken = default) => Device.Read(this, lba, buffer, cancellationToken);

    /// <summary>Writes <paramref name="buffer"/> starting at volume block <paramref name="lba"/>.</summary>
    /// <exception cref="VolumeAccessDeniedException">The volume is read-only.</exception>
    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => Device.Write(this, lba, buffer, cancellationToken);

    /// <summary>
    /// Writes <paramref name="buffer"/> at volume block <paramref name="lba"/> and completes once it is durable; see
    /// <see cref="BlockDevice.WriteDurableAsync"/>.
    /// </summary>
    public ValueTask WriteDurableAsync(long lba, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => Device.WriteDurable(this, lba, buffer, cancellationToken);

    /// <summary>Reads into several DMA buffers in one request, filled in order from volume block <paramref name="lba"/>.</summary>
    public ValueTask ReadVectoredAsync(long lba, ReadOnlySpan<Memory<byte>> buffers, CancellationToken cancellationToken = default) => Device.ReadVectored(this, lba, buffers, cancellationToken);

    /// <summary>Writes several DMA buffers in one request, in order from volume block <paramref name="lba"/>.</summary>
    /// <exception cref="VolumeAccessDeniedException">The volume is read-only.</exception>
    public ValueTask WriteVectoredAsync(long lba, ReadOnlySpan<ReadOnlyMemory<byte>> buffers, CancellationToken cancellationToken = default) => Device.WriteVectored(this, lba, buffers, cancellationToken);

    /// <summary>Makes every completed write of the device durable (a flush is device-wide); allowed on any volume.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => Device.Flush(this, cancellationToken);

    /// <summary>Discards <paramref name="blocks"/> blocks from volume block <paramref name="lba"/>.</summary>
    /// <exception cref="VolumeAccessDeniedException">The volume is read-only.</exception>
    public ValueTask DiscardAsync(long lba, long blocks, CancellationToken cancellationToken = default) => Device.Discard(this, lba, blocks, cancellationToken);

    /// <summary>Writes zeroes over <paramref name="blocks"/> blocks from volume block <paramref name="lba"/>.</summary>
    /// <exception cref="VolumeAccessDeniedException">The volume is read-only.</exception>
    public ValueTask WriteZeroesAsync(long lba, long blocks, bool mayUnmap = false, CancellationToken cancellationToken = default) => Device.WriteZeroes(this, lba, blocks, mayUnmap, cancellationToken);

    /// <summary>
    /// The callback form of queue <paramref name="index"/> restricted to this volume, for code running on that queue's
    /// reactor: the same checks as this volume's methods, then <see cref="BlockQueue"/>'s submission.
    /// </summary>
    public VolumeQueue GetQueue(int index) => new(this, Device.GetQueue(index));

    /// <inheritdoc />
    public override string ToString() => $"volume '{Name}' ({DescribeRange()}, {Access})";

    internal string DescribeRange() => $"{BlockCount} blocks, device LBA {FirstLba} to {FirstLba + BlockCount - 1}";

    internal void MarkRemoved() => _removed = true;

    internal void ThrowIfRemoved()
    {
        if (_removed) throw new ObjectDisposedException($"volume '{Name}'", $"volume '{Name}' was removed from {Device.Description}; it takes no new requests");
    }

    /// <summary>Refuses (and audits) a request that changes data when the volume is read-only.</summary>
    internal void DemandWrite(string what, long lba, long blocks)
    {
        if (Access != VolumeAccess.ReadOnly) return;
        Device.Audit.AccessRefused(Device.Description, Name, what, lba, blocks, "the volume is read-only");
        throw new VolumeAccessDeniedException(Name, what, lba, blocks,
            $"volume '{Name}' ({DescribeRange()}) is read-only: a {what} of {blocks} blocks at LBA {lba} is refused");
    }

    /// <summary>The exception (audited) for a request that leaves the volume, saying what would fit.</summary>
    internal ArgumentOutOfRangeException OutOfRange(string what, long lba, long blocks)
    {
        Device.Audit.AccessRefused(Device.Description, Name, what, lba, blocks, "outside the volume");
        string fits = blocks > BlockCount
            ? $"at most {BlockCount} blocks fit in it"
            : $"a {blocks}-block request fits at LBA 0 to {BlockCount - blocks}";
        return new ArgumentOutOfRangeException(nameof(lba), lba,
            $"a {what} of {blocks} blocks at LBA {lba} is outside volume '{Name}': it has {BlockCount} blocks " +
            $"(volume LBA 0 to {BlockCount - 1}, device LBA {FirstLba} to {FirstLba + BlockCount - 1}); {fits}");
    }
}
