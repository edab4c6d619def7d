using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Orion.Pmd.Storage;

/// <summary>
/// An append-only log of records on an <see cref="IBlockStorage"/>, with group commit: any number of callers
/// <see cref="AppendAsync"/> at once; one writer takes whatever is waiting, writes it as one request (and one flush
/// when the storage has a volatile write cache), then completes every caller of the group with its record's LSN.
/// An append's task completes only once its record is durable.
/// </summary>
/// <remarks>
/// Layout: blocks 0 and 1 hold the header (<see cref="RegionHeader"/>: magic, format version, generation, first
/// LSN, largest group); frames (<see cref="LogFrame"/>: length, CRC-32C, LSN, generation, payload) follow from
/// block 2 as one byte stream. A group starts in the block holding the log's tail: that block is rewritten in place
/// with its committed prefix byte-identical, so a torn write can damage only bytes no caller was told are durable.
/// Recovery (<see cref="OpenAsync"/>) reads frames from the start and stops at the first that is incomplete, fails
/// its checksum, is from another generation or does not carry the next LSN; it then zeroes the window after the tail
/// where an unacknowledged group may have landed in part, so no stale frame can ever follow a new one.
/// See docs/storage.md.
/// </remarks>
public sealed class WriteAheadLog : IAsyncDisposable
{
    internal const ulong Magic = 0x314C_4157_4E4F_4952;           // "RIONWAL1" read little-endian
    internal const uint FormatVersion = 1;
    private const long DataStartLba = RegionHeader.CopyBlocks;
    private const int RecoveryChunkBytes = 1 << 20;

    private readonly IBlockStorage _storage;
    private readonly int _blockSize;
    private readonly long _dataBytes;
    private readonly int _maxGroupBytes;
    private readonly IMemoryOwner<byte> _stage;                // the tail block's committed prefix, then the group
    private readonly Channel<AppendRequest> _queue = Channel.CreateUnbounded<AppendRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentQueue<AppendRequest> _requestPool = new();
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _io = new(1, 1);             // one group or truncation at a time
    private readonly List<AppendRequest> _group = [];
    private readonly Task _writer;
    private RegionHeader _header;
    private long _tail;                                        // bytes of frames after block 2
    private long _nextLsn;
    private AppendRequest? _carry;                             // taken from the queue but did not fit the last group
    private volatile Exception? _failed;
    private volatile bool _disposed;
    private long _appends, _groups, _flushes, _bytesWritten;

    private WriteAheadLog(IBlockStorage storage, RegionHeader header, int maxPendingAppends, IMemoryOwner<byte> stage, long tail, long nextLsn)
    {
        _storage = storage;
        _blockSize = storage.BlockSize;
        _dataBytes = (storage.BlockCount - DataStartLba) * _blockSize;
        _header = header;
        _maxGroupBytes = (int)header.B;
        _stage = stage;
        _tail = tail;
        _nextLsn = nextLsn;
        _slots = new SemaphoreSlim(maxPendingAppends, maxPendingAppends);
        _writer = Task.Run(RunWriterAsync);
    }

    /// <summary>The storage the log lives on.</summary>
    public IBlockStorage Storage => _storage;

    /// <summary>The largest record <see cref="AppendAsync"/> accepts, in bytes.</summary>
    public int MaxRecordBytes => _maxGroupBytes - LogFrame.HeaderBytes;

    /// <summary>The LSN the next record will get (once the records waiting now are written).</summary>
    public long NextLsn => Interlocked.Read(ref _nextLsn);

    /// <summary>The LSN of the first record the log holds (1, or what followed the last truncation).</summary>
    public long FirstLsn => _header.A;

    /// <summary>Bytes of frames written so far in this generation (the log's fill level).</summary>
    public long UsedBytes => Interlocked.Read(ref _tail);

    /// <summary>Bytes the log can hold.</summary>
    public long CapacityBytes => _dataBytes;

    /// <summary>What the log has done since it was opened.</summary>
    public WriteAheadLogStatistics Statistics => new(Interlocked.Read(ref _appends), Interlocked.Read(ref _groups),
                                                      Interlocked.Read(ref _flushes), Interlocked.Read(ref _bytesWritten));

    // ------------------------------------------------------------------------------------------------ open / format

    /// <summary>
    /// Formats <paramref name="storage"/> as an empty log (first LSN 1) and opens it. Records of an earlier log there
    /// are not erased, but the new generation makes them invalid for good.
    /// </summary>
    /// <exception cref="ArgumentException">Options that do not fit the storage (group size not a multiple of the block size, larger than a transfer).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The storage is too small for a header and one group.</exception>
    public static async Task<WriteAheadLog> FormatAsync(IBlockStorage storage, WriteAheadLogOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new WriteAheadLogOptions();
        Validate(storage, options, options.MaxGroupBytes);
        RegionHeader? old = null;
        try { old = await RegionHeader.ReadAsync(storage, Magic, FormatVersion, "write-ahead log").ConfigureAwait(false); }
        catch (StorageFormatException) { }                        // formatting replaces whatever was there
        // A log formatted over a blank or foreign header starts from a random generation, so frames a lost log left
        // behind are not taken for this one's.
        ulong generation = old is { } o ? o.Generation + 1 : (ulong)Random.Shared.NextInt64(1, long.MaxValue);
        ulong sequence = old is { } s ? s.Sequence + 1 : 0;
        var header = new RegionHeader(Magic, FormatVersion, storage.BlockSize, generation, storage.BlockCount, 1, options.MaxGroupBytes, sequence);
        await header.WriteAsync(storage).ConfigureAwait(false);
        var stage = storage.Rent(StageBytes(storage.BlockSize, options.MaxGroupBytes));
        stage.Memory.Span.Clear();
        return new WriteAheadLog(storage, header, options.MaxPendingAppends, stage, 0, 1);
    }

    /// <summary>
    /// Opens the log on <paramref name="storage"/> and recovers it: returns every committed record in LSN order and
    /// the opened log, whose next append continues after the last of them.
    /// </summary>
    /// <exception cref="StorageFormatException">The storage holds no log (and <see cref="WriteAheadLogOptions.FormatIfBlank"/> did not apply), another format version, or a different geometry.</exception>
    public static async Task<WriteAheadLogRecovery> OpenAsync(IBlockStorage storage, WriteAheadLogOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new WriteAheadLogOptions();
        var found = await RegionHeader.ReadAsync(storage, Magic, FormatVersion, "write-ahead log").ConfigureAwait(false);
        if (found is not { } header)
        {
            if (!options.FormatIfBlank)
                throw new StorageFormatException($"{storage.Description} is blank: format it (WriteAheadLog.FormatAsync) or open with FormatIfBlank");
            var fresh = await FormatAsync(storage, options).ConfigureAwait(false);
            return new WriteAheadLogRecovery(fresh, [], 1);
        }
        int maxGroup = (int)header.B;
        Validate(storage, options, maxGroup);
        var (records, tail) = await ScanAsync(storage, header, maxGroup).ConfigureAwait(false);
        long nextLsn = header.A + records.Count;
        var stage = storage.Rent(StageBytes(storage.BlockSize, maxGroup));
        try
        {
            await ScrubAfterTailAsync(storage, stage.Memory, tail, maxGroup).ConfigureAwait(false);
        }
        catch
        {
            stage.Dispose();
            throw;
        }
        return new WriteAheadLogRecovery(new WriteAheadLog(storage, header, options.MaxPendingAppends, stage, tail, nextLsn), records, nextLsn);
    }

    private static int StageBytes(int blockSize, int maxGroupBytes) => maxGroupBytes + blockSize;

    private static void Validate(IBlockStorage storage, WriteAheadLogOptions options, int maxGroupBytes)
    {
        int bs = storage.BlockSize;
        if (bs < 512 || bs % 8 != 0)
            throw new ArgumentException($"{storage.Description} has {bs}-byte blocks; the log needs blocks of at least 512 bytes");
        if (maxGroupBytes < bs || maxGroupBytes % bs != 0)
            throw new ArgumentException($"MaxGroupBytes {maxGroupBytes} must be a positive multiple of the {bs}-byte block size", nameof(options));
        if (maxGroupBytes + bs > storage.MaxTransferBytes)
            throw new ArgumentException($"MaxGroupBytes {maxGroupBytes} plus one block must fit one transfer of {storage.Description} ({storage.MaxTransferBytes} bytes)", nameof(options));
        if (options.MaxPendingAppends < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPendingAppends, "MaxPendingAppends must be at least 1");
        long needed = DataStartLba + 2L * maxGroupBytes / bs;
        if (storage.BlockCount < needed)
            throw new ArgumentOutOfRangeException(nameof(storage), storage.BlockCount,
                $"{storage.Description} has {storage.BlockCount} blocks; a log with {maxGroupBytes}-byte groups needs at least {needed} (two header blocks and two groups)");
    }

    /// <summary>Reads frames from the start and stops at the first one that is not valid; returns the records and the tail offset.</summary>
    private static async Task<(List<LogRecord> Records, long Tail)> ScanAsync(IBlockStorage storage, RegionHeader header, int maxGroup)
    {
        int bs = storage.BlockSize;
        long dataBytes = (storage.BlockCount - DataStartLba) * bs;
        int chunk = Math.Min(Math.Max(maxGroup, RecoveryChunkBytes), storage.MaxTransferBytes) / bs * bs;
        var records = new List<LogRecord>();
        var window = new byte[chunk + maxGroup];
        int windowLength = 0, offset = 0;                          // window[offset..windowLength) is unparsed
        long pos = 0, readAt = 0, lsn = header.A;
        using var io = storage.Rent(chunk);
        while (true)
        {
            int n = LogFrame.TryRead(window.AsSpan(offset, windowLength - offset), lsn, header.Generation, maxGroup - LogFrame.HeaderBytes, out var payload);
            if (n > 0)
            {
                records.Add(new LogRecord(lsn, payload.ToArray()));
                lsn++;
                pos += n;
                offset += n;
                continue;
            }
            // Not a valid frame: either more bytes are needed, or this is the end of the log.
            if (readAt >= dataBytes || windowLength - offset >= maxGroup) break;
            Buffer.BlockCopy(window, offset, window, 0, windowLength - offset);
            windowLength -= offset;
            offset = 0;
            int length = (int)Math.Min(chunk, dataBytes - readAt);
            await storage.ReadAsync(DataStartLba + readAt / bs, io.Memory[..length]).ConfigureAwait(false);
            io.Memory.Span[..length].CopyTo(window.AsSpan(windowLength));
            windowLength += length;
            readAt += length;
        }
        return (records, pos);
    }

    /// <summary>
    /// Loads the tail block's committed prefix into the stage and zeroes everything after the tail that the crashed
    /// writer's last group could have touched (one group plus a block), then flushes.
    /// </summary>
    private static async Task ScrubAfterTailAsync(IBlockStorage storage, Memory<byte> stage, long tail, int maxGroup)
    {
        int bs = storage.BlockSize;
        long dataBytes = (storage.BlockCount - DataStartLba) * bs;
        long tailBlock = tail / bs;
        int prefix = (int)(tail % bs);
        if (prefix != 0) await storage.ReadAsync(DataStartLba + tailBlock, stage[..bs]).ConfigureAwait(false);
        stage.Span[prefix..].Clear();
        long bytes = Math.Min(stage.Length, dataBytes - tailBlock * bs);
        if (bytes <= 0) return;
        await storage.WriteAsync(DataStartLba + tailBlock, stage[..(int)bytes]).ConfigureAwait(false);
        if (storage.WriteCacheEnabled) await storage.FlushAsync().ConfigureAwait(false);
    }

    // ------------------------------------------------------------------------------------------------ append

    /// <summary>
    /// Appends <paramref name="record"/> and completes with its LSN once it is durable (written, and flushed when the
    /// storage caches writes). The memory must stay unchanged until then. When <see cref="WriteAheadLogOptions.MaxPendingAppends"/>
    /// appends are already waiting, this waits for room first.
    /// </summary>
    /// <exception cref="ArgumentException">The record is larger than <see cref="MaxRecordBytes"/>.</exception>
    /// <exception cref="WriteAheadLogFullException">The log has no room left for it.</exception>
    /// <exception cref="IOException">An earlier group write failed: the log accepts nothing more until it is reopened (recovery).</exception>
    /// <exception cref="ObjectDisposedException">The log was disposed.</exception>
    public ValueTask<long> AppendAsync(ReadOnlyMemory<byte> record)
    {
        if (record.Length > MaxRecordBytes)
            throw new ArgumentException($"a record of {record.Length} bytes is larger than this log's largest, {MaxRecordBytes} bytes (MaxGroupBytes {_maxGroupBytes} less the {LogFrame.HeaderBytes}-byte frame header)", nameof(record));
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failed is { } failed) throw new IOException($"the log on {_storage.Description} failed a group write and accepts no more appends; reopen it to recover", failed);
        if (_slots.Wait(0)) return Enqueue(record);
        return WaitThenAppendAsync(record);
    }

    private async ValueTask<long> WaitThenAppendAsync(ReadOnlyMemory<byte> record)
    {
        await _slots.WaitAsync().ConfigureAwait(false);
        return await Enqueue(record).ConfigureAwait(false);
    }

    private ValueTask<long> Enqueue(ReadOnlyMemory<byte> record)
    {
        var request = AppendRequest.Rent(_requestPool, record);
        var task = request.AsValueTask();
        if (!_queue.Writer.TryWrite(request))
        {
            _slots.Release();
            request.Fail(new ObjectDisposedException(nameof(WriteAheadLog), "the log was disposed while the append waited"));
        }
        return task;
    }

    private async Task RunWriterAsync()
    {
        var reader = _queue.Reader;
        while (_carry is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await _io.WaitAsync().ConfigureAwait(false);
            try
            {
                await WriteGroupAsync(reader).ConfigureAwait(false);
            }
            finally
            {
                _io.Release();
            }
        }
    }

    // Pooled builder: a group that waits for the device would otherwise allocate its state machine every time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteGroupAsync(ChannelReader<AppendRequest> reader)
    {
        long firstLsn = _nextLsn;
        int prefix = (int)(_tail % _blockSize);
        int end = BuildGroup(reader, prefix, firstLsn);
        if (_group.Count == 0) return;
        int bytes = (end + _blockSize - 1) / _blockSize * _blockSize;
        _stage.Memory.Span[end..bytes].Clear();
        try
        {
            // The cache mode is read now, before and after the write, never cached at open: the owner may switch it
            // at any time, and a group written while the cache was on at either moment is flushed before its commits
            // are acknowledged.
            // With the cache on, the write and its flush go together where the storage can (one device round trip).
            long at = DataStartLba + _tail / _blockSize;
            bool flushed = _storage.WriteCacheEnabled;
            if (flushed) await _storage.WriteDurableAsync(at, _stage.Memory[..bytes]).ConfigureAwait(false);
            else await _storage.WriteAsync(at, _stage.Memory[..bytes]).ConfigureAwait(false);
            if (!flushed && _storage.WriteCacheEnabled)
            {
                await _storage.FlushAsync().ConfigureAwait(false);
                flushed = true;
            }
            if (flushed) Interlocked.Increment(ref _flushes);
        }
        catch (Exception e)
        {
            // What reached the device is unknown: accept nothing more; a reopen recovers what is valid.
            _failed = e;
            foreach (var r in _group) Finish(r, null, e);
            _group.Clear();
            return;
        }
        Interlocked.Increment(ref _groups);
        Interlocked.Add(ref _bytesWritten, bytes);
        Interlocked.Add(ref _appends, _group.Count);
        Interlocked.Add(ref _tail, end - prefix);
        Interlocked.Exchange(ref _nextLsn, firstLsn + _group.Count);
        int keep = end % _blockSize;                                // the new tail block's prefix moves to the front
        if (keep != 0) _stage.Memory.Span.Slice(bytes - _blockSize, keep).CopyTo(_stage.Memory.Span);
        for (int i = 0; i < _group.Count; i++) Finish(_group[i], firstLsn + i, null);
        _group.Clear();
    }

    /// <summary>Frames waiting records into the stage after the tail block's prefix; returns where the frames end.</summary>
    private int BuildGroup(ChannelReader<AppendRequest> reader, int prefix, long firstLsn)
    {
        var stage = _stage.Memory.Span;
        int pos = prefix;
        long lsn = firstLsn;
        while (true)
        {
            AppendRequest? r = _carry;
            _carry = null;
            if (r is null && !reader.TryRead(out r)) break;
            if (_failed is { } failed) { Finish(r, null, new IOException("an earlier group write failed; reopen the log to recover", failed)); continue; }
            int size = LogFrame.SizeOf(r.Record.Length);
            if (pos + size > prefix + _maxGroupBytes) { _carry = r; break; }
            if (_tail + (pos - prefix) + size > _dataBytes)
            {
                if (_group.Count > 0) { _carry = r; break; }
                Finish(r, null, new WriteAheadLogFullException(
                    $"the log on {_storage.Description} is full: {_tail} of {_dataBytes} bytes used, a {r.Record.Length}-byte record needs {size}; truncate it after a checkpoint"));
                continue;
            }
            LogFrame.Write(stage[pos..], lsn++, _header.Generation, r.Record.Span);
            pos += size;
            _group.Add(r);
        }
        return pos;
    }

    private void Finish(AppendRequest request, long? lsn, Exception? error)
    {
        if (error is null) request.Complete(lsn!.Value);
        else request.Fail(error);
        _slots.Release();
    }

    // ------------------------------------------------------------------------------------------------ truncate / dispose

    /// <summary>
    /// Drops every record (after a checkpoint made them unnecessary): writes a header with a new generation whose
    /// first LSN is <see cref="NextLsn"/>, so LSNs go on increasing and no old frame is ever read again. Appends
    /// waiting meanwhile go to the truncated log. A crash during it leaves the log either untruncated or truncated.
    /// </summary>
    public async Task TruncateAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _io.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_failed is { } failed) throw new IOException("the log failed a group write; reopen it before truncating", failed);
            var header = _header with { Generation = _header.Generation + 1, A = _nextLsn, Sequence = _header.Sequence + 1 };
            await header.WriteAsync(_storage).ConfigureAwait(false);
            _header = header;
            Interlocked.Exchange(ref _tail, 0);
            _stage.Memory.Span.Clear();
        }
        finally
        {
            _io.Release();
        }
    }

    /// <summary>Writes every append already accepted, stops the writer and returns its buffer. Later appends throw <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _stage.Dispose();
    }
}

/// <summary>What <see cref="WriteAheadLog.OpenAsync"/> found: the opened log, its committed records and the next LSN.</summary>
/// <param name="Log">The opened log, ready for appends.</param>
/// <param name="Records">Every committed record, in LSN order (consecutive LSNs from <see cref="WriteAheadLog.FirstLsn"/>).</param>
/// <param name="NextLsn">The LSN the next append gets.</param>
public sealed record WriteAheadLogRecovery(WriteAheadLog Log, IReadOnlyList<LogRecord> Records, long NextLsn);
