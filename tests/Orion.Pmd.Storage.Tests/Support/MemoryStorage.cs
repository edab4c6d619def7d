using System.Buffers;
using Orion.Pmd.Storage;

namespace Orion.Pmd.Storage.Tests.Support;

/// <summary>
/// Blocks in a managed array, completing every call at once and allocating nothing per call: isolates what the
/// storage structures themselves allocate from what a device path does.
/// </summary>
internal sealed class MemoryStorage(int blockSize, long blockCount) : IBlockStorage
{
    private readonly byte[] _data = new byte[blockSize * blockCount];
    private long _flushes;

    public long Flushes => Interlocked.Read(ref _flushes);
    public int BlockSize => blockSize;
    public long BlockCount => blockCount;
    public int MaxTransferBytes => 1 << 20;
    public bool WriteCacheEnabled => true;
    public string Description => "memory storage";
    public IMemoryOwner<byte> Rent(int length) => MemoryPool<byte>.Shared.Rent(length) is var o && o.Memory.Length == length ? o : new Exact(o, length);

    public ValueTask ReadAsync(long lba, Memory<byte> buffer)
    {
        _data.AsSpan((int)(lba * blockSize), buffer.Length).CopyTo(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer)
    {
        buffer.Span.CopyTo(_data.AsSpan((int)(lba * blockSize)));
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync()
    {
        Interlocked.Increment(ref _flushes);
        return ValueTask.CompletedTask;
    }

    private sealed class Exact(IMemoryOwner<byte> inner, int length) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory => inner.Memory[..length];
        public void Dispose() => inner.Dispose();
    }
}
