using System.Runtime.InteropServices;

namespace Orion.Pmd.Device.Backends.Rbd.Interop;

/// <summary>
/// The few librados calls an RBD image needs before librbd takes over: a cluster handle configured from a ceph.conf,
/// connected, and an I/O context on the image's pool (librados2, Debian; <c>rados/librados.h</c>). Every call returns
/// 0 or a negative errno.
/// </summary>
internal static partial class LibRados
{
    private const string Lib = "librados.so.2";

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rados_create(out nint cluster, string? id);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rados_conf_read_file(nint cluster, string? path);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rados_conf_set(nint cluster, string option, string value);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int rados_conf_get(nint cluster, string option, byte* buffer, nuint length);

    [LibraryImport(Lib)]
    internal static partial int rados_connect(nint cluster);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rados_ioctx_create(nint cluster, string pool, out nint ioctx);

    [LibraryImport(Lib)]
    internal static partial void rados_ioctx_destroy(nint ioctx);

    [LibraryImport(Lib)]
    internal static partial void rados_shutdown(nint cluster);
}
