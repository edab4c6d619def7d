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
}

/// <summary>A parsed fio <c>random_distribution</c> value.</summary>
/// <param name="Kind">The distribution.</param>
/// <param name="Parameter">θ for zipf, h for pareto, σ (percent of the region) for normal; 0 for random.</param>
public readonly record struct RandomDistribution(RandomDistributionKind Kind, double Parameter)
{
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
        const string Choices = "use random, zipf:THETA, pareto:H or normal:SIGMA (for example zipf:1.2)";
        if (name is "zoned" or "zoned_abs")
        {
            error = $"--random_distribution={text}: zoned distributions are not supported yet; {Choices}";
            return false;
        }
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
}
