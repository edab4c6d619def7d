using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Interop;

internal static partial class LibC
{
    internal const int _SC_CLK_TCK = 2;

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int kill(int pid, int signal);

    [LibraryImport(Lib)]
    internal static partial long sysconf(int name);
}
