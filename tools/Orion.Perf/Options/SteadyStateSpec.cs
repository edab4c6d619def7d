using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>
/// fio's <c>steadystate</c> (<c>ss</c>) criterion: IOPS or bandwidth, their largest deviation from the window's mean
/// or their least-squares slope, and the limit below which the job has reached steady state (a value, or a percentage
/// of the window's mean). Only active with <c>ss_dur</c>, as in fio.
/// </summary>
/// <param name="Bandwidth">Bandwidth (bytes per second) rather than IOPS.</param>
/// <param name="Slope">The slope rather than the largest deviation from the mean.</param>
/// <param name="Limit">The threshold: a percentage of the mean when <paramref name="Percent"/>, else IOPS or bytes per second.</param>
/// <param name="Percent">Whether <paramref name="Limit"/> is a percentage of the window's mean.</param>
public sealed record SteadyStateSpec(bool Bandwidth, bool Slope, double Limit, bool Percent)
{
    /// <summary>fio's default criterion, <c>iops_slope:0.01%</c>.</summary>
    public static readonly SteadyStateSpec Default = new(false, true, 0.01, true);

    /// <summary>As fio's JSON writes it: <c>iops_slope:0.010000%</c>.</summary>
    public string FioText => $"{(Bandwidth ? "bw" : "iops")}{(Slope ? "_slope" : "")}:{Limit.ToString("F6", CultureInfo.InvariantCulture)}{(Percent ? "%" : "")}";

    /// <summary>Parses fio's <c>CRITERION:LIMIT</c> (<c>iops:10%</c>, <c>bw_slope:1%</c>, <c>bw:10m</c>, <c>iops_slope:0.5</c>).</summary>
    public static bool TryParse(string text, out SteadyStateSpec spec, out string error)
    {
        spec = Default;
        error = "";
        string t = text.Trim();
        int colon = t.IndexOf(':');
        string kind = (colon < 0 ? t : t[..colon]).Trim().ToLowerInvariant();
        (bool bw, bool slope)? k = kind switch
        {
            "iops" => (false, false), "iops_slope" => (false, true), "bw" => (true, false), "bw_slope" => (true, true), _ => null,
        };
        if (k is null)
        {
            error = kind is "lat" or "lat_slope"
                ? $"--steadystate={text}: latency criteria are not implemented; use iops, iops_slope, bw or bw_slope"
                : $"--steadystate={text}: use iops, iops_slope, bw or bw_slope with a limit, for example --steadystate=iops_slope:0.1%";
            return false;
        }
        if (colon < 0)
        {
            error = $"--steadystate={text}: give the limit after the criterion, for example --steadystate={kind}:1%";
            return false;
        }
        string limit = t[(colon + 1)..].Trim();
        bool pct = limit.EndsWith('%');
        double value;
        if (pct || !k.Value.bw)
        {
            if (!double.TryParse(pct ? limit[..^1].Trim() : limit, NumberStyles.Float, CultureInfo.InvariantCulture, out value) || value < 0 || !double.IsFinite(value))
            {
                error = $"--steadystate={text}: '{limit}' is not a limit; give a number or a percentage, for example {kind}:1%";
                return false;
            }
        }
        else if (FioSize.TryParse(limit, out long bytes) && bytes >= 0) value = bytes;
        else
        {
            error = $"--steadystate={text}: '{limit}' is not a bandwidth; give bytes per second (for example {kind}:10m) or a percentage";
            return false;
        }
        spec = new SteadyStateSpec(k.Value.bw, k.Value.slope, value, pct);
        return true;
    }
}
