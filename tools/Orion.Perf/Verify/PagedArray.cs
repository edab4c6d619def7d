namespace Orion.Perf.Verify;

/// <summary>
/// A long array of per-block state whose 64 Ki-entry pages are allocated when first written: a region of terabytes
/// (fio's cross-stripe-verify.fio spans 3.6 TiB) costs memory only for the blocks a run touches. Small arrays (up to
/// <see cref="EagerEntries"/>) allocate every page at once, so the workload's I/O path never allocates for them.
/// Reads of an untouched entry give <c>default</c>.
/// </summary>
internal sealed class PagedArray<T> where T : struct
{
    private const int PageShift = 16;
    private const int PageMask = (1 << PageShift) - 1;

    /// <summary>Entries up to which every page is allocated up front.</summary>
    public const long EagerEntries = 1L << 25;

    private readonly T[]?[] _pages;

    public PagedArray(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _pages = new T[(length + PageMask) >> PageShift][];
        if (length <= EagerEntries)
            for (int p = 0; p < _pages.Length; p++) _pages[p] = new T[1 << PageShift];
    }

    /// <summary>Entries.</summary>
    public long Length { get; }

    /// <summary>The entry, <c>default</c> if its page was never written.</summary>
    public T this[long i]
    {
        get => _pages[i >> PageShift] is { } page ? page[i & PageMask] : default;
        set => At(i) = value;
    }

    /// <summary>A reference to the entry, allocating its page if need be.</summary>
    public ref T At(long i) => ref (_pages[i >> PageShift] ??= new T[1 << PageShift])[i & PageMask];

    /// <summary>The first index from <paramref name="i"/> on whose page exists (pages never written hold only defaults); <see cref="Length"/> if none.</summary>
    public long NextAllocated(long i)
    {
        while (i < Length && _pages[i >> PageShift] is null) i = ((i >> PageShift) + 1) << PageShift;
        return Math.Min(i, Length);
    }
}
