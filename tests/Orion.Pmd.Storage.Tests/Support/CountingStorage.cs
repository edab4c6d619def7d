using System.Buffers;
using Orion.Pmd.Storage;

namespace Orion.Pmd.Storage.Tests.Support;

/// <summary>An <see cref="IBlockStorage"/> that passes everything through and counts writes and flushes.</summary>
internal sealed class CountingStorage(IBlockStorage inner) : IBlockStorage
{
    private long _writes, _flushes;

    public long Writes => Interlocked.Read(ref _writes);
    public long Flushes => Interlocked.Read(ref _flushes);

    public int BlockSize => inner.BlockSize;
    public long BlockCount => inner.BlockCount;
    public int MaxTransferBytes => inner.MaxTransferBytes;
    public bool WriteCacheEnabled => inner.WriteCacheEnabled;
    public string Description => inner.Description;
    public IMemoryOwner<byte> Rent(int length) => inner.Rent(length);
    public ValueTask ReadAsync(long lba, Memory<byte> buffer) => inner.ReadAsync(lba, buffer);

    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer)
    {
        Interlocked.Increment(ref _writes);
        return inner.WriteAsync(lba, buffer);
    }

    public ValueTask FlushAsync()
    {
        Interlocked.Increment(ref _flushes);
        return inner.FlushAsync();
    }
}
