namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// The zero-allocation verdict of the engine's tests: windows of work are measured one after another until two in a
/// row allocated nothing, at most <see cref="MaxWindows"/>, and every window measured is reported. The runtime allocates
/// on its own, once, on a thread whose code it re-compiles (tiering: a method crossing its call-count threshold after
/// the start-up delay, an on-stack replacement), so an early window may carry that; a cost per I/O, or once every N
/// I/Os with N up to a window's size, shows in every window and never passes.
/// </summary>
internal static class SteadyAllocation
{
    /// <summary>Windows measured at most.</summary>
    public const int MaxWindows = 5;

    /// <summary>
    /// Bytes each run of <paramref name="window"/> allocated, read from <paramref name="allocated"/> (a cumulative count,
    /// e.g. of another thread), window after window until two in a row were clean or <see cref="MaxWindows"/> ran.
    /// </summary>
    public static List<long> Windows(Func<long> allocated, Action window)
    {
        var windows = new List<long>();
        while (windows.Count < MaxWindows && !IsSteady(windows))
        {
            long before = allocated();
            window();
            windows.Add(allocated() - before);
        }
        return windows;
    }

    /// <summary><see cref="Windows"/> counted on the calling thread.</summary>
    public static List<long> OnThisThread(Action window) => Windows(GC.GetAllocatedBytesForCurrentThread, window);

    /// <summary>Whether the last two windows allocated nothing.</summary>
    public static bool IsSteady(IReadOnlyList<long> windows) => windows.Count >= 2 && windows[^1] == 0 && windows[^2] == 0;

    /// <summary>Fails unless <paramref name="windows"/> reached steady state, listing every window's bytes.</summary>
    public static void AssertSteady(IReadOnlyList<long> windows, string perWindow) =>
        Assert.That(IsSteady(windows), Is.True, $"bytes allocated per window of {perWindow}: {string.Join(", ", windows)}");
}
