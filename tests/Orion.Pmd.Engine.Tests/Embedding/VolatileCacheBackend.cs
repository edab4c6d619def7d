using Orion.Pmd.Device.Backends;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>
/// A disk with a volatile write cache, for durability tests: writes land in the cache, a flush moves the cache to
/// the medium, and <see cref="PowerLoss"/> throws the cache away. Reads see the cache over the medium, as a real
/// disk's do. Outlives the engines that use it (its Dispose does nothing), so a test can "reboot" onto the medium.
/// </summary>
internal sealed class VolatileCacheBackend(long capacity) : IBlockBackend
{
    private const int Sector = 512;
    private readonly byte[] _medium = new byte[capacity];
    private readonly Dictionary<long, byte[]> _cache = [];        // sector → its newest contents, not yet flushed
    private readonly Lock _lock = new();

    public long Capacity => _medium.Length;
    public string Description => $"volatile-cache:{_medium.Length >> 20}MiB";
    public int Flushes { get; private set; }

    public void Read(long offset, Span<byte> destination)
    {
        lock (_lock)
        {
            for (int done = 0; done < destination.Length; done += Sector)
            {
                long sector = (offset + done) / Sector;
                var from = _cache.TryGetValue(sector, out var cached) ? cached : _medium.AsSpan((int)(sector * Sector), Sector);
                from.CopyTo(destination.Slice(done, Sector));
            }
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        lock (_lock)
            for (int done = 0; done < source.Length; done += Sector)
                _cache[(offset + done) / Sector] = source.Slice(done, Sector).ToArray();
    }

    public void Flush()
    {
        lock (_lock)
        {
            foreach (var (sector, data) in _cache) data.CopyTo(_medium, sector * Sector);
            _cache.Clear();
            Flushes++;
        }
    }

    public void Discard(long offset, long length) => WriteZeroes(offset, length);

    public void WriteZeroes(long offset, long length)
    {
        lock (_lock)
            for (long done = 0; done < length; done += Sector)
                _cache[(offset + done) / Sector] = new byte[Sector];
    }

    /// <summary>The power goes: whatever was not flushed is gone.</summary>
    public void PowerLoss()
    {
        lock (_lock) _cache.Clear();
    }

    public void Dispose() { }
}
