using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Orion.Perf.Logs;

/// <summary>
/// A fio log stored compressed (<c>log_store_compressed=1</c> with <c>log_compression=SIZE</c>), in fio's format, which
/// <c>fio --inflate-log=FILE</c> turns back into the text log: each chunk of <c>log_compression</c> bytes of fio's
/// binary samples (iolog.h <c>struct io_sample</c>: u64 time in ms, u64 value, u32 direction with the offset and
/// priority flag bits, u16 priority, 2 bytes of padding, u64 block size, then u64 offset with <c>log_offset</c>) is
/// one complete zlib stream, and the file is the streams one after another.
/// </summary>
internal sealed class FioCompressedLog : StreamWriter
{
    private const uint OffsetSampleBit = 0x80000000;
    private const uint PrioSampleBit = 0x40000000;

    private readonly byte[] _chunk;
    private readonly bool _offset, _prio;
    private readonly int _sampleBytes;
    private int _used;

    /// <param name="stream">The .fz file.</param>
    /// <param name="chunkBytes">fio's log_compression: bytes of samples per compressed chunk (rounded down to whole samples).</param>
    /// <param name="offset">Samples carry the offset (log_offset).</param>
    /// <param name="prio">Samples carry the priority flag (log_prio).</param>
    public FioCompressedLog(Stream stream, long chunkBytes, bool offset, bool prio) : base(stream, new UTF8Encoding(false))
    {
        _offset = offset;
        _prio = prio;
        _sampleBytes = offset ? 40 : 32;
        long whole = Math.Clamp(chunkBytes, _sampleBytes, 64L << 20) / _sampleBytes * _sampleBytes;
        _chunk = new byte[whole];
    }

    /// <summary>One sample, as fio's add_sample stores it.</summary>
    public void AddSample(long timeMs, long value, int direction, long blockSize, long offsetBytes)
    {
        var s = _chunk.AsSpan(_used, _sampleBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(s, (ulong)timeMs);
        BinaryPrimitives.WriteInt64LittleEndian(s[8..], value);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)direction | (_offset ? OffsetSampleBit : 0) | (_prio ? PrioSampleBit : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 0);          // priority 0 (orion I/O has none) and padding
        BinaryPrimitives.WriteInt64LittleEndian(s[24..], blockSize);
        if (_offset) BinaryPrimitives.WriteInt64LittleEndian(s[32..], offsetBytes);
        _used += _sampleBytes;
        if (_used == _chunk.Length) WriteChunk();
    }

    /// <summary>Compresses the samples gathered so far into one zlib stream, as fio does at a chunk's end and at the log's end.</summary>
    private void WriteChunk()
    {
        if (_used == 0) return;
        using (var z = new ZLibStream(BaseStream, CompressionLevel.Optimal, leaveOpen: true))
            z.Write(_chunk, 0, _used);
        _used = 0;
    }

    public override void Flush()
    {
        WriteChunk();
        base.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) WriteChunk();
        base.Dispose(disposing);
    }
}
