using System.Globalization;
using System.Text.Json;
using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>fio's <c>steadystate</c> section of a job: the criterion, whether it was attained, and the window's samples (oldest first).</summary>
public sealed record SteadyStateResult(SteadyStateSpec Spec, int DurationSeconds, bool Attained, double Criterion, double MaxDeviation, double Slope,
                                       IReadOnlyList<long> Iops, IReadOnlyList<long> Bw)
{
    /// <summary>The window's mean bandwidth, bytes per second (fio's sum over the window's length).</summary>
    public long BwMean => Bw.Count == 0 ? 0 : Bw.Sum() / Bw.Count;

    /// <summary>The window's mean IOPS.</summary>
    public long IopsMean => Iops.Count == 0 ? 0 : Iops.Sum() / Iops.Count;

    /// <summary>Writes fio's <c>steadystate</c> object.</summary>
    public void WriteJson(Utf8JsonWriter j)
    {
        j.WriteStartObject("steadystate");
        j.WriteString("ss", Spec.FioText);
        j.WriteNumber("duration", DurationSeconds);
        j.WriteNumber("attained", Attained ? 1 : 0);
        j.WriteString("criterion", Criterion.ToString("F6", CultureInfo.InvariantCulture) + (Spec.Percent ? "%" : ""));
        JsonSections.WriteFloat(j, "max_deviation", MaxDeviation);
        JsonSections.WriteFloat(j, "slope", Slope);
        j.WriteStartObject("data");
        j.WriteNumber("bw_mean", BwMean);
        j.WriteNumber("iops_mean", IopsMean);
        j.WriteStartArray("iops");
        foreach (long v in Iops) j.WriteNumberValue(v);
        j.WriteEndArray();
        j.WriteStartArray("bw");
        foreach (long v in Bw) j.WriteNumberValue(v);
        j.WriteEndArray();
        j.WriteEndObject();
        j.WriteEndObject();
    }

    /// <summary>fio's normal-output line: <c>steadystate  : attained=yes, bw=..., iops=..., iops mean dev=1.234%</c>.</summary>
    public string TextLine() =>
        $"  steadystate  : attained={(Attained ? "yes" : "no")}, bw={FioFormat.Num2Str((ulong)BwMean, FioFormat.SigFigs, true, FioFormat.Unit.BytePerSec)} " +
        $"({FioFormat.Num2Str((ulong)BwMean, FioFormat.SigFigs, false, FioFormat.Unit.BytePerSec)}), iops={IopsMean.ToString(CultureInfo.InvariantCulture)}, " +
        $"{(Spec.Bandwidth ? "bw" : "iops")}{(Spec.Slope ? " slope" : " mean dev")}={Criterion.ToString("F3", CultureInfo.InvariantCulture)}{(Spec.Percent ? "%" : "")}";
}
