using Orion.Perf.Options;

namespace Orion.Perf.Verify;

/// <summary>
/// One workload's verification state, used only on its reactor thread and allocation-free per I/O: the sequence
/// number of the last write to each block of the region (a block here is one header's worth, the job's smallest
/// block size), writes in flight per block, and per request slot the sequences its read expects.
/// </summary>
/// <remarks>
/// A read is checked only where the answer is certain: for each block, no write to it was in flight when the read
/// was issued and none was issued before the read completed. Otherwise either the old or the new data would be
/// right, so the block is skipped rather than risk a false alarm. Blocks the job never wrote are not checked, nor
/// blocks a failed write or two overlapping writes left unknown, until a write issued alone rewrites them.
/// </remarks>
internal sealed class VerifyTracker
{
    /// <summary>Mismatches kept in detail; later ones are only counted.</summary>
    public const int MaxRecorded = 16;

    /// <summary>
    /// The most blocks a region may have under verification: 6 bytes of state for each block in the 64 Ki-block pages
    /// a run touches (and 8 bytes per page of directory), so a multi-terabyte device costs what its writes cover.
    /// </summary>
    public const long MaxBlocks = 1L << 34;

    private readonly long _regionStartLba;
    private readonly int _chunkBlocks, _chunkBytes, _blockSize, _maxChunksPerIo;
    private readonly ulong _seed;
    private readonly PagedArray<uint> _lastWrite;          // per block: sequence of the last write issued to it, 0 = never written
    private readonly PagedArray<ushort> _writesInFlight;   // per block
    private readonly uint[] _slotSequences;      // per request slot: a write's sequences, or what a read expects (0 = don't check)
    private readonly VerifyMismatch[] _recorded = new VerifyMismatch[MaxRecorded];
    private int _recordedCount;
    private uint _sequence;

    /// <param name="regionStartLba">First device block of the region.</param>
    /// <param name="regionBlocks">Device blocks in the region.</param>
    /// <param name="chunkBlocks">Device blocks per header: the smallest I/O size.</param>
    /// <param name="blockSize">Device block size in bytes.</param>
    /// <param name="maxChunksPerIo">Headers in the largest I/O.</param>
    /// <param name="slots">Request slots (the iodepth).</param>
    /// <param name="seed">The job's seed, written into every header.</param>
    public VerifyTracker(long regionStartLba, long regionBlocks, int chunkBlocks, int blockSize, int maxChunksPerIo, int slots, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBlocks, 1);
        long chunks = regionBlocks / chunkBlocks;
        if (chunks > MaxBlocks) throw new ArgumentOutOfRangeException(nameof(regionBlocks), chunks, $"at most {MaxBlocks} blocks can be verified");
        _regionStartLba = regionStartLba;
        _chunkBlocks = chunkBlocks;
        _blockSize = blockSize;
        _chunkBytes = chunkBlocks * blockSize;
        _maxChunksPerIo = maxChunksPerIo;
        _seed = seed;
        Blocks = chunks;
        _lastWrite = new PagedArray<uint>(chunks);
        _writesInFlight = new PagedArray<ushort>(chunks);
        _slotSequences = new uint[slots * maxChunksPerIo];
    }

    /// <summary>What a block carries: a crc32c header (default), a meta header, or the pattern alone.</summary>
    public Options.VerifyMode Mode { get; init; } = Options.VerifyMode.Crc32c;

    /// <summary>fio's verify_pattern, written into each block (after its header, if any) and checked; null for none.</summary>
    public byte[]? Pattern
    {
        get => _pattern;
        init
        {
            _pattern = value;
            // A pattern whose length does not divide the block size starts each block at a phase its write chose.
            if (value is not null && _chunkBytes % value.Length != 0) _patternPhase = new PagedArray<ushort>(Blocks);
        }
    }

    private readonly byte[]? _pattern;
    private readonly PagedArray<ushort>? _patternPhase;

    /// <summary>
    /// The workload only reads what an earlier job or run wrote: every block read is checked by what it holds alone
    /// (its header's magic, type, length, offset and CRC, or the pattern), with no sequence or seed to expect.
    /// </summary>
    public bool Stateless { get; init; }

    /// <summary>Blocks (headers) in the region.</summary>
    public long Blocks { get; }

    /// <summary>Bytes per header.</summary>
    public int BlockBytes => _chunkBytes;

    /// <summary>Headers in the largest I/O.</summary>
    public int MaxBlocksPerIo => _maxChunksPerIo;

    /// <summary>Blocks checked as the workload read them.</summary>
    public long CheckedInline { get; private set; }

    /// <summary>Blocks checked by the read-back after the write phase.</summary>
    public long CheckedAfterWrites { get; private set; }

    /// <summary>Blocks that failed.</summary>
    public long Mismatches { get; private set; }

    /// <summary>The first <see cref="MaxRecorded"/> failures.</summary>
    public ReadOnlySpan<VerifyMismatch> Recorded => _recorded.AsSpan(0, _recordedCount);

    /// <summary>The header block holding device block <paramref name="lba"/>.</summary>
    public long BlockOf(long lba) => (lba - _regionStartLba) / _chunkBlocks;

    /// <summary>The first device block of header block <paramref name="block"/>.</summary>
    public long LbaOf(long block) => _regionStartLba + block * _chunkBlocks;

    /// <summary>
    /// A write from request slot <paramref name="slot"/> of <paramref name="blocks"/> header blocks at
    /// <paramref name="lba"/> was submitted: stamps each block of <paramref name="data"/> (before the queue places the
    /// request, so the device reads the stamped data) and records it as the block's latest write.
    /// </summary>
    public void WriteIssued(int slot, Span<byte> data, long lba, int blocks)
    {
        long first = BlockOf(lba);
        int at = slot * _maxChunksPerIo;
        for (int i = 0; i < blocks; i++)
        {
            uint sequence = ++_sequence;
            if (sequence == 0) sequence = ++_sequence;          // 0 means "never written"
            long b = first + i;
            // Two writes to one block in flight together may land in either order (a device may reorder them, and a
            // timed-out write retried after a reset lands after the later one): the block's content is unknown until
            // a write issued alone rewrites it.
            if (_writesInFlight[b] > 0)
            {
                _lastWrite[b] = 0;
                UnknownAfterOverlap++;
            }
            else _lastWrite[b] = sequence;
            _writesInFlight.At(b)++;
            _slotSequences[at + i] = sequence;
            var block = data.Slice(i * _chunkBytes, _chunkBytes);
            // fio fills the whole I/O's buffer with the pattern first and writes each header over its block's start,
            // so the pattern's phase at a block's start is the block's place in its I/O.
            if (Pattern is { } pattern)
            {
                int phase = (int)((long)i * _chunkBytes % pattern.Length);
                if (_patternPhase is not null) _patternPhase[b] = (ushort)phase;
                Fill(block, pattern, phase);
            }
            if (Mode != Options.VerifyMode.Pattern)
            {
                VerifyHeader.Stamp(block, Mode, (lba + (long)i * _chunkBlocks) * _blockSize, _seed, sequence, Thread, StampTime());
                if (VerifyOffset > 0) SwapHeader(block);
            }
        }
    }

    /// <summary>fio <c>verify_offset</c>: the header is swapped with the bytes this far into the block before the write, and back before the check.</summary>
    public int VerifyOffset { get; init; }

    /// <summary>The job's number written into each header (fio's thread_number, from 1).</summary>
    public ushort Thread { get; init; } = 1;

    private static long StampTime() => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000_000.0 / System.Diagnostics.Stopwatch.Frequency));

    private void SwapHeader(Span<byte> block)
    {
        int n = Mode.VerifyHeaderBytes();
        Span<byte> tmp = stackalloc byte[n];
        block[..n].CopyTo(tmp);
        block.Slice(VerifyOffset, n).CopyTo(block);
        tmp.CopyTo(block.Slice(VerifyOffset, n));
    }

    /// <summary>Fills <paramref name="span"/> with <paramref name="pattern"/> repeated, its byte <paramref name="phase"/> first.</summary>
    private static void Fill(Span<byte> span, byte[] pattern, int phase)
    {
        for (int at = 0; at < span.Length; )
        {
            int n = Math.Min(pattern.Length - phase, span.Length - at);
            pattern.AsSpan(phase, n).CopyTo(span[at..]);
            at += n;
            phase = 0;
        }
    }

    /// <summary>
    /// The first byte of <paramref name="block"/> from <paramref name="from"/> on that breaks <paramref name="pattern"/>
    /// repeated from the block's start; -1 when none does.
    /// </summary>
    private static int FirstPatternMismatch(ReadOnlySpan<byte> block, int from, byte[] pattern, int blockPhase)
    {
        int phase = (blockPhase + from) % pattern.Length;
        for (int at = from; at < block.Length; )
        {
            int n = Math.Min(pattern.Length - phase, block.Length - at);
            int diff = block.Slice(at, n).CommonPrefixLength(pattern.AsSpan(phase, n));
            if (diff < n) return at + diff;
            at += n;
            phase = 0;
        }
        return -1;
    }

    /// <summary>
    /// The write from <paramref name="slot"/> completed. A failed write may or may not have reached the medium, in
    /// whole or in part, and — timed out and reset away — may even land after a later write to the same blocks: its
    /// blocks are unknown until a write issued after this failure rewrites them, so none of them is checked until
    /// then (not by reads in flight, nor by the read-back). This is what keeps an injected write error from showing
    /// up as a false mismatch.
    /// </summary>
    public void WriteCompleted(int slot, long lba, int blocks, bool ok)
    {
        long first = BlockOf(lba);
        for (int i = 0; i < blocks; i++)
        {
            long b = first + i;
            _writesInFlight.At(b)--;
            if (!ok)
            {
                _lastWrite[b] = 0;
                UnknownAfterFailedWrite++;
            }
        }
    }

    /// <summary>Blocks whose expected content a failed write made unknown (each failed write counts its blocks).</summary>
    public long UnknownAfterFailedWrite { get; private set; }

    /// <summary>Blocks whose expected content became unknown because a write was issued while another to it was in flight.</summary>
    public long UnknownAfterOverlap { get; private set; }

    /// <summary>A read into <paramref name="slot"/> was submitted: note, per block, the write it must find (0 = not checkable).</summary>
    public void ReadIssued(int slot, long lba, int blocks)
    {
        if (Stateless) return;
        long first = BlockOf(lba);
        int at = slot * _maxChunksPerIo;
        for (int i = 0; i < blocks; i++)
        {
            long b = first + i;
            _slotSequences[at + i] = _writesInFlight[b] == 0 ? _lastWrite[b] : 0;
        }
    }

    /// <summary>
    /// The read into <paramref name="slot"/> completed with <paramref name="data"/>: checks every block that can be
    /// checked. Returns the number of mismatches found.
    /// </summary>
    public int ReadCompleted(int slot, Span<byte> data, long lba, int blocks, bool afterWrites)
    {
        long first = BlockOf(lba);
        int at = slot * _maxChunksPerIo;
        int bad = 0;
        for (int i = 0; i < blocks; i++)
        {
            uint expected = Stateless ? 0 : _slotSequences[at + i];
            long b = first + i;
            if (!Stateless && (expected == 0 || _lastWrite[b] != expected)) continue;     // not written, or rewritten meanwhile
            if (afterWrites) CheckedAfterWrites++;
            else CheckedInline++;
            var block = data.Slice(i * _chunkBytes, _chunkBytes);
            long offset = (lba + (long)i * _chunkBlocks) * _blockSize;
            // The pattern's phase at the block's start: where this job's write left it, else (data an earlier run
            // wrote, read with the same block size) the block's place in this I/O, as fio reads it.
            int phase = Pattern is { } p ? (_patternPhase is not null && !Stateless ? _patternPhase[b] : (int)((long)i * _chunkBytes % p.Length)) : 0;
            if (Check(block, offset, expected, afterWrites, phase) is { } mismatch)
            {
                Mismatches++;
                bad++;
                if (_recordedCount < MaxRecorded) _recorded[_recordedCount++] = mismatch;
            }
        }
        return bad;
    }

    /// <summary>
    /// One block against what it should hold, as fio checks it: the pattern alone, or (with the header swapped back from
    /// verify_offset) fio's header naming this offset and length, sealed by its CRC, with the type's checksum over the
    /// data, and unless <see cref="Stateless"/> this job's seed and write <paramref name="expected"/>; then the pattern
    /// after it. Null when it is sound. May swap the header in <paramref name="block"/> back into place.
    /// </summary>
    private VerifyMismatch? Check(Span<byte> block, long offset, uint expected, bool afterWrites, int patternPhase)
    {
        int headerBytes = Mode.VerifyHeaderBytes();
        if (VerifyOffset > 0 && headerBytes > 0) SwapHeader(block);
        int patternAt = Pattern is { } pattern ? FirstPatternMismatch(block, headerBytes, pattern, patternPhase) : -1;
        if (Mode == Options.VerifyMode.Pattern)
            return patternAt < 0 ? null : new VerifyMismatch(offset, _chunkBytes, default, default, 0, afterWrites, patternAt, Mode);
        var found = VerifyHeader.Read(block);
        uint crc = VerifyHeader.ComputeHeaderCrc(block);
        bool sumOk = VerifyHeader.ChecksumMatches(block, Mode, out ulong stored, out ulong computed);
        var want = found with
        {
            Magic = VerifyHeader.ExpectedMagic,
            Type = Mode.SameCheck(found.Type) ? found.Type : (ushort)Mode,
            Length = (uint)_chunkBytes,
            Offset = offset,
            Seed = Stateless ? found.Seed : _seed,
            Sequence = Stateless ? found.Sequence : (ushort)expected,
            Crc = crc,
        };
        return found == want && sumOk && patternAt < 0 ? null
            : new VerifyMismatch(offset, _chunkBytes, want, found, crc, afterWrites, patternAt, Mode, sumOk, stored, computed);
    }

    /// <summary>
    /// The next run of written blocks from <paramref name="cursor"/> on, at most <paramref name="maxBlocks"/> long,
    /// for the read-back; false when none is left. Advances the cursor past the run.
    /// </summary>
    public bool NextWrittenRun(ref long cursor, int maxBlocks, out long firstBlock, out int blocks)
    {
        long n = Blocks;
        cursor = _lastWrite.NextAllocated(cursor);
        while (cursor < n && _lastWrite[cursor] == 0)
            if ((++cursor & 0xFFFF) == 0) cursor = _lastWrite.NextAllocated(cursor);
        firstBlock = cursor;
        blocks = 0;
        if (cursor >= n) return false;
        while (cursor < n && _lastWrite[cursor] != 0 && blocks < maxBlocks)
        {
            cursor++;
            blocks++;
        }
        return true;
    }

    /// <summary>Blocks written at least once (for reports and tests).</summary>
    public long WrittenBlocks()
    {
        long n = 0;
        for (long i = _lastWrite.NextAllocated(0); i < Blocks; i = (i & 0xFFFF) == 0xFFFF ? _lastWrite.NextAllocated(i + 1) : i + 1)
            if (_lastWrite[i] != 0) n++;
        return n;
    }
}
