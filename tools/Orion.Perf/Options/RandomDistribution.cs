using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>The shape of random offsets (fio <c>random_distribution</c>).</summary>
public enum RandomDistributionKind
{
    /// <summary>Uniform over the region (fio <c>random</c>, the default).</summary>
    Random,
    /// <summary>Zipf with exponent θ (fio <c>zipf:θ</c>): a few blocks get most of the I/O.</summary>
    Zipf,
    /// <summary>Pareto with power h (fio <c>pareto:h</c>, 0 &lt; h &lt; 1).</summary>
    Pareto,
    /// <summary>Normal (Gaussian) with deviation σ as a percentage of the region (fio <c>normal:σ</c>).</summary>
    Normal,
    /// <summary>Zones of the region, each taking a share of the I/O, uniform inside (fio <c>zoned:A/R:...</c>, R a percentage of the region).</summary>
    Zoned,
    /// <summary>As <see cref="Zoned"/> with zone sizes in bytes (fio <c>zoned_abs:A/SIZE:...</c>).</summary>
    ZonedAbs,
}

/// <summary>One zone of fio's zoned distributions: the percentage of I/O it takes, and its size (percent of the region, or bytes for zoned_abs).</summary>
public readonly record struct DistributionZone(int AccessPercent, double Size);

/// <summary>A parsed fio <c>random_distribution</c> value.</summary>
/// <param name="Kind">The distribution.</param>
/// <param name="Parameter">θ for zipf, h for pareto, σ (percent of the region) for normal; 0 for random.</param>
public readonly record struct RandomDistribution(RandomDistributionKind Kind, double Parameter)
{
    /// <summary>The zones, in region order, for <see cref="RandomDistributionKind.Zoned"/> and <see cref="RandomDistributionKind.ZonedAbs"/>; else null.</summary>
    public IReadOnlyList<DistributionZone>? Zones { get; init; }

    /// <summary>fio's defaults when no value follows the name: zipf 1.1, pareto 0.2, normal 0.</summary>
    private const double DefaultZipf = 1.1, DefaultPareto = 0.2;

    /// <summary>Uniform offsets.</summary>
    public static RandomDistribution Uniform => new(RandomDistributionKind.Random, 0);

    /// <summary>The value as fio takes it (<c>random</c>, <c>zipf:1.2</c>).</summary>
    public override string ToString() => Kind switch
    {
        RandomDistributionKind.Random => "random",
        RandomDistributionKind.Zipf => "zipf:" + Parameter.ToString("0.######", CultureInfo.InvariantCulture),
        RandomDistributionKind.Pareto => "pareto:" + Parameter.ToString("0.######", CultureInfo.InvariantCulture),
        RandomDistributionKind.Zoned => "zoned:" + string.Join(':', Zones!.Select(z => $"{z.AccessPercent}/{z.Size.ToString("0.######", CultureInfo.InvariantCulture)}")),
        RandomDistributionKind.ZonedAbs => "zoned_abs:" + string.Join(':', Zones!.Select(z => $"{z.AccessPercent}/{FioSize.Format((long)z.Size)}")),
        _ => "normal:" + Parameter.ToString("0.######", CultureInfo.InvariantCulture),
    };

    /// <summary>Parses fio's <c>random|zipf[:θ]|pareto[:h]|normal[:σ]</c>, with fio's ranges; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string text, out RandomDistribution distribution, out string error)
    {
        distribution = Uniform;
        error = "";
        string s = text.Trim().ToLowerInvariant();
        int colon = s.IndexOf(':');
        string name = colon < 0 ? s : s[..colon];
        string? value = colon < 0 ? null : s[(colon + 1)..];
        const string Choices = "use random, zipf:THETA, pareto:H, normal:SIGMA, zoned:ACCESS%/REGION%:... or zoned_abs:ACCESS%/SIZE:... (for example zipf:1.2)";
        if (name is "zoned" or "zoned_abs") return TryParseZones(text, name == "zoned_abs", value, out distribution, out error);
        if (name is not ("random" or "zipf" or "pareto" or "normal"))
        {
            error = $"--random_distribution={text}: unknown distribution; {Choices}";
            return false;
        }
        if (value is not null && value.Contains(':'))
        {
            error = $"--random_distribution={text}: the center offset (a second ':' value) is not supported yet";
            return false;
        }
        if (name == "random")
        {
            if (value is not null) { error = $"--random_distribution={text}: random takes no value"; return false; }
            return true;
        }
        double p = name switch { "zipf" => DefaultZipf, "pareto" => DefaultPareto, _ => 0 };
        if (value is not null && (!double.TryParse(value, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out p)
                                  || !double.IsFinite(p)))
        {
            error = $"--random_distribution={text}: '{value}' is not a number";
            return false;
        }
        switch (name)
        {
            case "zipf" when p <= 0 || p == 1.0:
                error = $"--random_distribution={text}: the zipf exponent must be positive and not 1 (for example zipf:1.2)";
                return false;
            case "pareto" when p <= 0 || p >= 1:
                error = $"--random_distribution={text}: the pareto power must be between 0 and 1, both excluded (for example pareto:0.2)";
                return false;
            case "normal" when p < 0 || p >= 100:
                error = $"--random_distribution={text}: the normal deviation is a percentage of the region from 0 to below 100 (for example normal:10)";
                return false;
        }
        distribution = new RandomDistribution(name switch
        {
            "zipf" => RandomDistributionKind.Zipf,
            "pareto" => RandomDistributionKind.Pareto,
            _ => RandomDistributionKind.Normal,
        }, p);
        return true;
    }

    /// <summary>
    /// fio's <c>zoned:A/R:A/R...</c> (R a percentage of the region) and <c>zoned_abs:A/SIZE:...</c>: the access
    /// percentages add up to 100; a zone whose size is left empty takes what the others leave of the region.
    /// </summary>
    private static bool TryParseZones(string text, bool absolute, string? value, out RandomDistribution distribution, out string error)
    {
        distribution = Uniform;
        error = "";
        string example = absolute ? "zoned_abs:60/10g:40/90g" : "zoned:60/10:30/20:10/70";
        if (string.IsNullOrWhiteSpace(value) || value.Contains(','))
        {
            error = $"--random_distribution={text}: give ACCESS/{(absolute ? "SIZE" : "REGION")} zones separated by ':' (for example {example}); one set for all directions";
            return false;
        }
        var zones = new List<DistributionZone>();
        int empty = -1;
        foreach (var entry in value.Split(':'))
        {
            var parts = entry.Split('/');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int access) || access > 100)
            {
                error = $"--random_distribution={text}: '{entry}' is not ACCESS/{(absolute ? "SIZE" : "REGION")} with ACCESS a whole percentage (for example {example})";
                return false;
            }
            double size = 0;
            if (parts[1].Trim().Length == 0)
            {
                if (empty >= 0) { error = $"--random_distribution={text}: only one zone may leave its size empty (the rest of the region)"; return false; }
                empty = zones.Count;
            }
            else if (absolute ? !FioSize.TryParse(parts[1], out long bytes) || (size = bytes) <= 0
                              : !double.TryParse(parts[1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out size) || size <= 0 || size > 100)
            {
                error = $"--random_distribution={text}: '{parts[1]}' is not a {(absolute ? "size" : "percentage of the region above 0")} (for example {example})";
                return false;
            }
            zones.Add(new DistributionZone(access, size));
        }
        int total = zones.Sum(z => z.AccessPercent);
        if (total != 100)
        {
            error = $"--random_distribution={text}: the access percentages add up to {total}, not 100";
            return false;
        }
        if (!absolute)
        {
            double regions = zones.Sum(z => z.Size);
            if (regions > 100.0001) { error = $"--random_distribution={text}: the zones cover {regions}% of the region, more than 100"; return false; }
            if (empty >= 0) zones[empty] = zones[empty] with { Size = 100 - regions };
        }
        else if (empty >= 0)
        {
            error = $"--random_distribution={text}: zoned_abs needs every zone's size";
            return false;
        }
        distribution = new RandomDistribution(absolute ? RandomDistributionKind.ZonedAbs : RandomDistributionKind.Zoned, 0) { Zones = zones };
        return true;
    }
}
