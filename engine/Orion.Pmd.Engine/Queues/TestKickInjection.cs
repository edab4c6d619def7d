using System.Globalization;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// TEST-ONLY regression injection for the latency gate's counted metrics (docs/latency-gate.md): with
/// <c>ORION_TEST_EXTRA_KICKS_PER_BATCH=N</c> (1 to 8) in the environment, every batch a queue places rings the
/// device's doorbell N more times than the ring asked for, so <c>orion-perf gate</c> can be shown to catch "one extra
/// kick per batch" without a deliberately worse build. A doorbell the device did not ask for is harmless by the spec
/// (the device just looks at its ring again). Unset (always, outside <c>perf/gate-calibration.py</c> and the tests)
/// it is one predictable branch per batch on a value the JIT folds to a constant. Not an option, on purpose.
/// </summary>
internal static class TestKickInjection
{
    /// <summary>The environment variable read once, when the first queue places a batch.</summary>
    public const string Variable = "ORION_TEST_EXTRA_KICKS_PER_BATCH";

    /// <summary>Extra doorbells per batch: 0 when the variable is unset or not a number from 1 to 8.</summary>
    public static readonly int ExtraKicksPerBatch = Parse(Environment.GetEnvironmentVariable(Variable));

    internal static int Parse(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 8 ? n : 0;
}
