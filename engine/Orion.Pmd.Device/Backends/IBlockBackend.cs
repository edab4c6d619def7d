namespace Orion.Pmd.Device.Backends;

/// <summary>
/// Storage behind the software device. Offsets and lengths are in bytes and have already been range-checked by
/// the request executor; a backend only moves data. Called from device threads, one request at a time per queue.
/// </summary>
public interface IBlockBackend : IDisposable
{
    /// <summary>Size in bytes (a multiple of 512).</summary>
    long Capacity { get; }

    /// <summary>A short description for reports, e.g. <c>mem:1GiB</c>.</summary>
    string Description { get; }

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/>.</summary>
    void Read(long offset, Span<byte> destination);

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/>.</summary>
    void Write(long offset, ReadOnlySpan<byte> source);

    /// <summary>Makes completed writes durable.</summary>
    void Flush();

    /// <summary>Deallocates a range; afterwards it reads as zeroes (the memory backend) or is unchanged (the null backend).</summary>
    void Discard(long offset, long length);

    /// <summary>Writes zeroes over a range.</summary>
    void WriteZeroes(long offset, long length);
}
