using System.Runtime.CompilerServices;

namespace Orion.Pmd.Storage;

/// <summary>
/// Fixed-size pages on an <see cref="IBlockStorage"/>, addressed by page number, each version checksummed and
/// written torn-safe: every page has two 4 KiB slots (A and B) and a write goes to the slot that does not hold the
/// page's current version, with the next version number, so a crash in the middle of a write leaves the previous
/// version whole. A read returns the newest slot that checks out; a page whose slots both fail (though one was
/// written) throws <see cref="PageCorruptedException"/> — never garbage.
/// </summary>
/// <remarks>
/// Layout: blocks 0 and 1 hold the header (<see cref="RegionHeader"/>: magic, format version, generation, page
/// count, slot size); the slots follow from the first 4 KiB boundary, page p's slot s at slot index 2p+s
/// (<see cref="PageSlot"/>: magic, CRC-32C, page number, version, generation, payload). Formatting zeroes the
/// slots, so a slot is valid, empty (all zero: never written), or invalid (torn or damaged). A write completes once
/// it is durable (flushed when the storage caches writes). Writes to one page are serialised; different pages run
/// concurrently. See docs/storage.md.
/// </remarks>
public sealed class PageStore : IAsyncDisposable
{
    /// <summary>Bytes of payload a page holds.</summary>
    public const int PayloadSize = PageSlot.PayloadBytes;

    internal const ulong Magic = 0x3150_4753_4E4F_4952;            // "RIONSGP1" read little-endian
    internal const uint FormatVersion = 1;
    private const int LockStripes = 64;

    private readonly IBlockStorage _storage;
    private readonly RegionHeader _header;
    private readonly int _slotBlocks;
    private readonly long _dataStartLba;
    private readonly long[] _version;                          // current version per page; 0 = never written
    private readonly sbyte[] _slot;                            // slot holding it; -1 = none
    private readonly bool[] _corrupted;
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, LockStripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly SlotBuffers _buffers;
    private volatile bool _disposed;

    private PageStore(IBlockStorage storage, RegionHeader header, int bufferCache)
    {
        _storage = storage;
        _header = header;
        _slotBlocks = PageSlot.Bytes / storage.BlockSize;
        _dataStartLba = DataStart(storage.BlockSize);
        _version = new long[header.A];
        _slot = new sbyte[header.A];
        Array.Fill(_slot, (sbyte)-1);
        _corrupted = new bool[header.A];
        _buffers = new SlotBuffers(storage, bufferCache);
    }

    /// <summary>Pages in the store (numbers 0 to <c>PageCount - 1</c>).</summary>
    public long PageCount => _header.A;

    /// <summary>The storage the store lives on.</summary>
    public IBlockStorage Storage => _storage;

    /// <summary>Pages found with no intact version when the store was opened (or since, by a read).</summary>
    public IReadOnlyList<long> CorruptedPages
    {
        get { lock (_corrupted) return Enumerable.Range(0, _corrupted.Length).Where(i => _corrupted[i]).Select(i => (long)i).ToArray(); }
    }

    /// <summary>The current version of <paramref name="page"/>: 0 when it was never written.</summary>
    public long GetVersion(long page) => Volatile.Read(ref _version[CheckPage(page)]);

    private static long DataStart(int blockSize)
    {
        long slotBlocks = PageSlot.Bytes / blockSize;
        return (RegionHeader.CopyBlocks + slotBlocks - 1) / slotBlocks * slotBlocks;
    }

    private static long Capacity(IBlockStorage storage)
        => (storage.BlockCount - DataStart(storage.BlockSize)) / (2L * (PageSlot.Bytes / storage.BlockSize));

    private static void Validate(IBlockStorage storage)
    {
        int bs = storage.BlockSize;
        if (bs < 512 || bs > PageSlot.Bytes || PageSlot.Bytes % bs != 0)
            throw new ArgumentException($"{storage.Description} has {bs}-byte blocks; the page store needs a block size that divides {PageSlot.Bytes} (512 to 4096)");
        if (Capacity(storage) < 1)
            throw new ArgumentOutOfRangeException(nameof(storage), storage.BlockCount,
                $"{storage.Description} has {storage.BlockCount} blocks of {bs} bytes: too small for a header and one page ({DataStart(bs) * bs + 2 * PageSlot.Bytes} bytes)");
    }

    // ------------------------------------------------------------------------------------------------ format / open

    /// <summary>Formats <paramref name="storage"/> as a store of empty pages (zeroing every slot) and opens it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">More pages asked for than fit, or the storage is too small for one.</exception>
    public static async Task<PageStore> FormatAsync(IBlockStorage storage, PageStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new PageStoreOptions();
        Validate(storage);
        long capacity = Capacity(storage);
        long pages = options.PageCount == 0 ? capacity : options.PageCount;
        if (pages < 0 || pages > capacity || pages > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(options), options.PageCount, $"{storage.Description} holds 1 to {capacity} pages of {PageSlot.Bytes * 2} bytes (two slots); asked for {options.PageCount}");
        RegionHeader? old = null;
        try { old = await RegionHeader.ReadAsync(storage, Magic, FormatVersion, "page store").ConfigureAwait(false); }
        catch (StorageFormatException) { }
        long dataStart = DataStart(storage.BlockSize);
        long end = dataStart + pages * 2 * (PageSlot.Bytes / storage.BlockSize);
        int chunk = Math.Min(storage.MaxTransferBytes, 1 << 20) / storage.BlockSize * storage.BlockSize;
        using (var zeroes = storage.Rent(chunk))
        {
            zeroes.Memory.Span.Clear();
            for (long lba = dataStart; lba < end;)
            {
                int blocks = (int)Math.Min(chunk / storage.BlockSize, end - lba);
                await storage.WriteAsync(lba, zeroes.Memory[..(blocks * storage.BlockSize)]).ConfigureAwait(false);
                lba += blocks;
            }
        }
        if (storage.WriteCacheEnabled) await storage.FlushAsync().ConfigureAwait(false);  // zeroes before the header that vouches for them
        ulong generation = old is { } o ? o.Generation + 1 : (ulong)Random.Shared.NextInt64(1, long.MaxValue);
        var header = new RegionHeader(Magic, FormatVersion, storage.BlockSize, generation, storage.BlockCount, pages, PageSlot.Bytes, old is { } s ? s.Sequence + 1 : 0);
        await header.WriteAsync(storage).ConfigureAwait(false);
        return new PageStore(storage, header, options.BufferCacheSize);
    }

    /// <summary>
    /// Opens the store and validates every slot: each page's current version is its newest intact slot; pages whose
    /// slots are both damaged are listed in <see cref="CorruptedPages"/> and refuse reads.
    /// </summary>
    /// <exception cref="StorageFormatException">The storage holds no page store (and <see cref="PageStoreOptions.FormatIfBlank"/> did not apply), another format version, or a different geometry.</exception>
    public static async Task<PageStore> OpenAsync(IBlockStorage storage, PageStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new PageStoreOptions();
        Validate(storage);
        var found = await RegionHeader.ReadAsync(storage, Magic, FormatVersion, "page store").ConfigureAwait(false);
        if (found is not { } header)
        {
            if (!options.FormatIfBlank)
                throw new StorageFormatException($"{storage.Description} is blank: format it (PageStore.FormatAsync) or open with FormatIfBlank");
            return await FormatAsync(storage, options).ConfigureAwait(false);
        }
        if (header.B != PageSlot.Bytes || header.A < 1 || header.A > Capacity(storage))
            throw new StorageFormatException($"{storage.Description} holds a page store header of {header.A} pages of {header.B}-byte slots that does not fit it");
        var store = new PageStore(storage, header, options.BufferCacheSize);
        await store.ScanAsync().ConfigureAwait(false);
        return store;
    }

    private async Task ScanAsync()
    {
        int pageBytes = 2 * PageSlot.Bytes;
        int pagesPerRead = Math.Max(1, Math.Min(_storage.MaxTransferBytes, 1 << 20) / pageBytes);
        using var io = _storage.Rent(pagesPerRead * pageBytes);
        for (long first = 0; first < PageCount; first += pagesPerRead)
        {
            int pages = (int)Math.Min(pagesPerRead, PageCount - first);
            await _storage.ReadAsync(SlotLba(first, 0), io.Memory[..(pages * pageBytes)]).ConfigureAwait(false);
            for (int i = 0; i < pages; i++) Classify(first + i, io.Memory.Span.Slice(i * pageBytes, pageBytes));
        }
    }

    private void Classify(long page, ReadOnlySpan<byte> slots)
    {
        var a = PageSlot.Check(slots[..PageSlot.Bytes], page, _header.Generation, out long va);
        var b = PageSlot.Check(slots[PageSlot.Bytes..], page, _header.Generation, out long vb);
        if (a == PageSlot.State.Valid && (b != PageSlot.State.Valid || va >= vb)) { _version[page] = va; _slot[page] = 0; }
        else if (b == PageSlot.State.Valid) { _version[page] = vb; _slot[page] = 1; }
        // No intact version. A torn first write leaves the other slot empty: nothing was ever committed. Both slots
        // written and both damaged means a committed version was lost.
        else if (a == PageSlot.State.Invalid && b == PageSlot.State.Invalid) _corrupted[page] = true;
    }

    // ------------------------------------------------------------------------------------------------ pages

    /// <summary>
    /// Reads <paramref name="page"/>'s current version into <paramref name="destination"/> (its first
    /// <c>destination.Length</c> bytes, at most <see cref="PayloadSize"/>) and returns the version; a page never
    /// written reads as zeroes, version 0. When the current slot fails its checksum, the other slot's intact version
    /// is returned and becomes current.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The page number is not in the store, or the destination is larger than a page.</exception>
    /// <exception cref="PageCorruptedException">Neither slot holds an intact version although the page was written.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]        // no state machine allocated per call
    public async ValueTask<long> ReadPageAsync(long page, Memory<byte> destination)
    {
        CheckPage(page);
        if (destination.Length > PayloadSize)
            throw new ArgumentOutOfRangeException(nameof(destination), destination.Length, $"a page holds {PayloadSize} bytes; the destination may not be larger");
        ObjectDisposedException.ThrowIf(_disposed, this);
        var gate = _locks[page % LockStripes];
        await gate.WaitAsync().ConfigureAwait(false);
        var buffer = _buffers.Rent();
        try
        {
            if (_corrupted[page]) throw Corrupted(page);
            int current = _slot[page];
            if (current < 0)
            {
                destination.Span.Clear();
                return 0;
            }
            for (int attempt = 0; attempt < 2; attempt++)
            {
                int slot = attempt == 0 ? current : 1 - current;
                await _storage.ReadAsync(SlotLba(page, slot), buffer.Memory[..PageSlot.Bytes]).ConfigureAwait(false);
                if (PageSlot.Check(buffer.Memory.Span, page, _header.Generation, out long version) != PageSlot.State.Valid) continue;
                PageSlot.Payload(buffer.Memory.Span)[..destination.Length].CopyTo(destination.Span);
                _slot[page] = (sbyte)slot;
                Volatile.Write(ref _version[page], version);
                return version;
            }
            lock (_corrupted) _corrupted[page] = true;
            throw Corrupted(page);
        }
        finally
        {
            _buffers.Return(buffer);
            gate.Release();
        }
    }

    /// <summary>
    /// Writes <paramref name="payload"/> (at most <see cref="PayloadSize"/> bytes; the rest of the page reads as
    /// zeroes) as <paramref name="page"/>'s next version and returns that version once it is durable. The previous
    /// version stays intact in the other slot until then, so a crash during the write loses only this write.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The page number is not in the store.</exception>
    /// <exception cref="ArgumentException">The payload is larger than a page.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]        // no state machine allocated per call
    public async ValueTask<long> WritePageAsync(long page, ReadOnlyMemory<byte> payload)
    {
        CheckPage(page);
        if (payload.Length > PayloadSize)
            throw new ArgumentException($"a payload of {payload.Length} bytes does not fit a page of {PayloadSize} bytes", nameof(payload));
        ObjectDisposedException.ThrowIf(_disposed, this);
        var gate = _locks[page % LockStripes];
        await gate.WaitAsync().ConfigureAwait(false);
        var buffer = _buffers.Rent();
        try
        {
            long version = _version[page] + 1;
            int slot = _slot[page] < 0 ? 0 : 1 - _slot[page];       // never the slot holding the current version
            PageSlot.Write(buffer.Memory.Span, page, version, _header.Generation, payload.Span);
            // The cache mode as it is now (before and after the write), never as it was at open: the owner may switch it.
            // With the cache on, the write and its flush go together where the storage can (one device round trip).
            long lba = SlotLba(page, slot);
            if (_storage.WriteCacheEnabled) await _storage.WriteDurableAsync(lba, buffer.Memory[..PageSlot.Bytes]).ConfigureAwait(false);
            else
            {
                await _storage.WriteAsync(lba, buffer.Memory[..PageSlot.Bytes]).ConfigureAwait(false);
                if (_storage.WriteCacheEnabled) await _storage.FlushAsync().ConfigureAwait(false);
            }
            _slot[page] = (sbyte)slot;
            lock (_corrupted) _corrupted[page] = false;
            Volatile.Write(ref _version[page], version);
            return version;
        }
        finally
        {
            _buffers.Return(buffer);
            gate.Release();
        }
    }

    /// <summary>The first block of <paramref name="page"/>'s slot <paramref name="slot"/> (0 = A, 1 = B), relative to the storage.</summary>
    internal long SlotLba(long page, int slot) => _dataStartLba + (2 * page + slot) * _slotBlocks;

    private long CheckPage(long page)
    {
        if ((ulong)page >= (ulong)PageCount)
            throw new ArgumentOutOfRangeException(nameof(page), page, $"page {page} is not in the store: it has pages 0 to {PageCount - 1}");
        return page;
    }

    private PageCorruptedException Corrupted(long page)
        => new(page, $"page {page} of the store on {_storage.Description} is corrupted: neither of its slots (LBA {SlotLba(page, 0)} and {SlotLba(page, 1)}) holds an intact version; rewrite it from another copy");

    /// <summary>Returns the store's buffers. Operations in flight must have finished.</summary>
    public ValueTask DisposeAsync()
    {
        if (_disposed) return ValueTask.CompletedTask;
        _disposed = true;
        _buffers.Dispose();
        return ValueTask.CompletedTask;
    }
}
