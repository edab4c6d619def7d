using System.Runtime.InteropServices;

namespace Orion.Pmd.Device.Backends.Rbd.Interop;

/// <summary>
/// librbd's C API as the RBD backend uses it (librbd1, Debian; <c>rbd/librbd.h</c> of Ceph 16 "Pacific", where
/// <c>rbd_aio_write_zeroes</c> exists since Ceph 15). Asynchronous calls take a completion made by
/// <see cref="rbd_aio_create_completion"/>, whose callback librbd runs on one of its own threads; every call returns 0
/// or a negative errno, and a finished request's result is <see cref="rbd_aio_get_return_value"/>.
/// </summary>
internal static unsafe partial class LibRbd
{
    private const string Lib = "librbd.so.1";

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rbd_open(nint ioctx, string name, out nint image, string? snapshot);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rbd_open_read_only(nint ioctx, string name, out nint image, string? snapshot);

    [LibraryImport(Lib)]
    internal static partial int rbd_close(nint image);

    [LibraryImport(Lib)]
    internal static partial int rbd_get_size(nint image, out ulong size);

    [LibraryImport(Lib)]
    internal static partial nint rbd_read(nint image, ulong offset, nuint length, byte* buffer);

    [LibraryImport(Lib)]
    internal static partial nint rbd_write(nint image, ulong offset, nuint length, byte* buffer);

    [LibraryImport(Lib)]
    internal static partial int rbd_flush(nint image);

    [LibraryImport(Lib)]
    internal static partial int rbd_discard(nint image, ulong offset, ulong length);

    [LibraryImport(Lib)]
    internal static partial nint rbd_write_zeroes(nint image, ulong offset, nuint length, int zeroFlags, int opFlags);

    [LibraryImport(Lib)]
    internal static partial int rbd_aio_create_completion(nint argument, delegate* unmanaged[Cdecl]<nint, nint, void> callback, out nint completion);

    [LibraryImport(Lib)]
    internal static partial nint rbd_aio_get_return_value(nint completion);

    [LibraryImport(Lib)]
    internal static partial void rbd_aio_release(nint completion);

    [LibraryImport(Lib)]
    internal static partial int rbd_aio_readv(nint image, nint iovecs, int count, ulong offset, nint completion);

    [LibraryImport(Lib)]
    internal static partial int rbd_aio_writev(nint image, nint iovecs, int count, ulong offset, nint completion);

    [LibraryImport(Lib)]
    internal static partial int rbd_aio_flush(nint image, nint completion);

    [LibraryImport(Lib)]
    internal static partial int rbd_aio_discard(nint image, ulong offset, ulong length, nint completion);

    [LibraryImport(Lib)]
    internal static partial int rbd_aio_write_zeroes(nint image, ulong offset, nuint length, nint completion, int zeroFlags, int opFlags);
}
