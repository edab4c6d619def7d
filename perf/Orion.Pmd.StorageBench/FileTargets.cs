using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Orion.Pmd.Storage;

namespace Orion.Pmd.StorageBench;

/// <summary>The log on a plain file through <see cref="FileStream"/>: positioned writes, <c>Flush(true)</c> (fsync) per group.</summary>
internal sealed class FileStreamStorage(string path, long bytes, int blockSize) : IBlockStorage, IDisposable
{
    private readonly FileStream _file = Open(path, bytes);

    private static FileStream Open(string path, long bytes)
    {
        var f = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        if (f.Length < bytes) f.SetLength(bytes);
        return f;
    }

    public int BlockSize => blockSize;
    public long BlockCount => bytes / blockSize;
    public int MaxTransferBytes => 1 << 20;
    public bool WriteCacheEnabled => true;
    public string Description => $"FileStream {path}";
    public IMemoryOwner<byte> Rent(int length) => new AlignedBuffer(length);

    public ValueTask ReadAsync(long lba, Memory<byte> buffer)
    {
        _file.Position = lba * blockSize;
        _file.ReadExactly(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer)
    {
        _file.Position = lba * blockSize;
        _file.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync()
    {
        _file.Flush(flushToDisk: true);
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>The log on a plain file opened with O_DIRECT: <see cref="RandomAccess"/> writes from aligned buffers, <c>fdatasync</c> per group.</summary>
internal sealed partial class DirectFileStorage : IBlockStorage, IDisposable
{
    private const FileOptions Direct = (FileOptions)0x4000;      // O_DIRECT on Linux x86-64
    private readonly SafeFileHandle _handle;
    private readonly string _path;
    private readonly long _bytes;

    public DirectFileStorage(string path, long bytes, int blockSize)
    {
        _path = path;
        _bytes = bytes;
        BlockSize = blockSize;
        _handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, Direct);
        if (RandomAccess.GetLength(_handle) < bytes) RandomAccess.SetLength(_handle, bytes);
    }

    public int BlockSize { get; }
    public long BlockCount => _bytes / BlockSize;
    public int MaxTransferBytes => 1 << 20;
    public bool WriteCacheEnabled => true;
    public string Description => $"O_DIRECT {_path}";
    public IMemoryOwner<byte> Rent(int length) => new AlignedBuffer(length);

    public ValueTask ReadAsync(long lba, Memory<byte> buffer)
    {
        RandomAccess.Read(_handle, buffer.Span, lba * BlockSize);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer)
    {
        RandomAccess.Write(_handle, buffer.Span, lba * BlockSize);
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync()
    {
        if (fdatasync((int)_handle.DangerousGetHandle()) != 0)
            throw new IOException($"fdatasync({_path}) failed: errno {Marshal.GetLastPInvokeError()}");
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _handle.Dispose();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);
}
