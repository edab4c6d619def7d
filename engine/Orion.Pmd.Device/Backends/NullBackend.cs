namespace Orion.Pmd.Device.Backends;

/// <summary>
/// Completes every request without touching data, like SPDK's null bdev and QEMU's null-co: the cost measured
/// through it is the cost of the data path itself.
/// </summary>
public sealed class NullBackend : IBlockBackend
{
    /// <summary>Creates a null device of <paramref name="capacity"/> bytes.</summary>
    public NullBackend(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (capacity % 512 != 0) throw new ArgumentException($"capacity {capacity} is not a multiple of 512 bytes", nameof(capacity));
        Capacity = capacity;
    }

    /// <inheritdoc />
    public long Capacity { get; }
    /// <inheritdoc />
    public string Description => $"null:{SizeText.Format(Capacity)}";
    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination) { }
    /// <inheritdoc />
    public void Write(long offset, ReadOnlySpan<byte> source) { }
    /// <inheritdoc />
    public void Flush() { }
    /// <inheritdoc />
    public void Discard(long offset, long length) { }
    /// <inheritdoc />
    public void WriteZeroes(long offset, long length) { }
    /// <inheritdoc />
    public void Dispose() { }
}
