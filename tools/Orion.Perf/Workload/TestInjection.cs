using System.Globalization;

namespace Orion.Perf.Workload;

/// <summary>
/// TEST-ONLY regression injection, so the latency gate's counted metrics can be proven to bite without a second,
/// deliberately worse build: <c>ORION_PERF_TEST_ALLOC_PER_IO=N</c> (1 to 64) makes every completed I/O allocate N
/// small objects on the managed heap (a 24-byte object each on 64-bit), which <c>orion.allocated_bytes_per_io</c>
/// must show. Unset (always, outside <c>perf/gate-calibration.py</c> and the tests) it costs one predictable branch
/// per completion and changes nothing. Documented in docs/latency-gate.md; not an option, on purpose.
/// </summary>
internal static class TestInjection
{
    /// <summary>The environment variable read once at start-up.</summary>
    public const string AllocPerIoVariable = "ORION_PERF_TEST_ALLOC_PER_IO";

    /// <summary>Objects each completion allocates; 0 when the variable is unset or not a number from 1 to 64.</summary>
    public static readonly int AllocationsPerIo = Parse(Environment.GetEnvironmentVariable(AllocPerIoVariable));

    // Written with every injected allocation so the JIT's escape analysis cannot put the object on the stack.
    private static object? s_sink;

    internal static int Parse(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 64 ? n : 0;

    /// <summary>Called once per completed I/O: allocates <see cref="AllocationsPerIo"/> objects, or nothing.</summary>
    public static void OnCompletion()
    {
        for (int i = 0; i < AllocationsPerIo; i++) Volatile.Write(ref s_sink, new object());
    }
}
