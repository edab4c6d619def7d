using System.Globalization;

namespace Orion.Perf.Gate;

/// <summary><c>orion-perf gate</c>'s options, parsed and checked before anything runs.</summary>
internal sealed class GateOptions
{
    public string? Baseline { get; private set; }
    public string? Candidate { get; private set; }
    public int Rounds { get; private set; } = 5;
    public int? MaxRounds { get; private set; }
    public TimeSpan? Budget { get; private set; }
    public int Warmup { get; private set; } = 1;
    public double Confidence { get; private set; } = 0.95;
    public ulong Seed { get; private set; } = 1;
    public TimeSpan RunTimeout { get; private set; } = TimeSpan.FromMinutes(10);
    public string? Save { get; private set; }
    public string? Against { get; private set; }
    public string Store { get; private set; } = BaselineStore.DefaultDirectory;
    public string? JUnitPath { get; private set; }
    public string? MarkdownPath { get; private set; }
    public string? JsonPath { get; private set; }
    public GateLimits Limits { get; } = new();
    public bool Help { get; private set; }

    /// <summary>Rounds at most: <c>--max-rounds</c>, else 50 with a <c>--budget</c>, else <see cref="Rounds"/>.</summary>
    public int RoundsAtMost => MaxRounds ?? (Budget is null ? Rounds : Math.Max(Rounds, 50));

    /// <summary>Whether a verdict is asked for (a baseline, run or stored); without one the gate only records (<c>--save</c>).</summary>
    public bool Judging => Baseline is not null || Against is not null;

    private static readonly string[] Names =
    [
        "--baseline", "--candidate", "--rounds", "--max-rounds", "--budget", "--warmup", "--tolerance", "--metrics", "--confidence",
        "--seed", "--timeout", "--save", "--against", "--store", "--junit", "--markdown", "--json",
    ];

    public static bool TryParse(IReadOnlyList<string> args, out GateOptions options, out string error)
    {
        options = new GateOptions();
        error = "";
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "-h" or "--help") { options.Help = true; return true; }
            int eq = a.IndexOf('=');
            string name = a.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? a[..eq] : a;
            if (!Names.Contains(name))
            {
                error = a.StartsWith('-') ? $"unknown option '{a}'" : $"unexpected argument '{a}' (a side's command goes after --baseline or --candidate, quoted)";
                return false;
            }
            string? value = eq > 0 && name != a ? a[(eq + 1)..] : i + 1 < args.Count ? args[++i] : null;
            if (value is null) { error = $"{name} needs a value"; return false; }
            if (!options.Apply(name, value, out error)) return false;
        }
        return options.Check(out error);
    }

    private bool Apply(string name, string value, out string error)
    {
        error = "";
        switch (name)
        {
            case "--baseline": Baseline = NonEmpty(name, value, ref error); break;
            case "--candidate": Candidate = NonEmpty(name, value, ref error); break;
            case "--rounds": Rounds = Whole(name, value, 1, 1000, ref error); break;
            case "--max-rounds": MaxRounds = Whole(name, value, 1, 1000, ref error); break;
            case "--warmup": Warmup = Whole(name, value, 0, 100, ref error); break;
            case "--budget":
                if (!TrySeconds(value, out var budget) || budget <= TimeSpan.Zero || budget > TimeSpan.FromDays(1))
                    error = $"--budget '{value}': a time above 0 and at most a day, in seconds or with a unit (for example 90, 90s, 5m)";
                Budget = budget;
                break;
            case "--timeout":
                if (!TrySeconds(value, out var timeout) || timeout <= TimeSpan.Zero || timeout > TimeSpan.FromDays(1))
                    error = $"--timeout '{value}': a time above 0 and at most a day for one run of a side (for example 120 or 10m)";
                RunTimeout = timeout;
                break;
            case "--confidence":
                if (!double.TryParse(value.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double pct) || pct is < 50 or > 99.9)
                    error = $"--confidence '{value}': a percentage from 50 to 99.9 (for example 95)";
                Confidence = pct / 100;
                break;
            case "--seed":
                if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)) error = $"--seed '{value}': a whole number of 0 or more";
                Seed = seed;
                break;
            case "--tolerance": Limits.TryApplyTolerances(value, out error); break;
            case "--metrics": Limits.TrySelect(value, out error); break;
            case "--save": Save = Named(name, value, ref error); break;
            case "--against": Against = Named(name, value, ref error); break;
            case "--store": Store = NonEmpty(name, value, ref error) ?? Store; break;
            case "--junit": JUnitPath = NonEmpty(name, value, ref error); break;
            case "--markdown": MarkdownPath = NonEmpty(name, value, ref error); break;
            default: JsonPath = NonEmpty(name, value, ref error); break;
        }
        return error.Length == 0;
    }

    private bool Check(out string error)
    {
        error = Candidate is null ? "--candidate CMD is required: the command that prints the candidate's fio-shaped JSON"
              : Baseline is not null && Against is not null ? "give --baseline CMD or --against NAME, not both"
              : !Judging && Save is null ? "nothing to judge against: give --baseline CMD, --against NAME, or --save NAME to record the candidate"
              : !Judging && (JUnitPath ?? MarkdownPath ?? JsonPath) is not null ? "--junit, --markdown and --json report a verdict: they need --baseline or --against"
              : MaxRounds is int max && max < Rounds ? $"--max-rounds {max} is below --rounds {Rounds}"
              : Judging && RoundsAtMost < GateVerdicts.MinRoundsToJudge
                ? $"a verdict needs at least {GateVerdicts.MinRoundsToJudge} rounds per side; give --rounds {GateVerdicts.MinRoundsToJudge} or more (or --max-rounds)"
              : "";
        return error.Length == 0;
    }

    private static string? NonEmpty(string name, string value, ref string error)
    {
        if (string.IsNullOrWhiteSpace(value)) error = $"{name} needs a non-empty value";
        return value;
    }

    private static string? Named(string name, string value, ref string error)
    {
        if (!BaselineStore.IsValidName(value)) error = $"{name} '{value}': {BaselineStore.NameRule}";
        return value;
    }

    private static int Whole(string name, string value, int min, int max, ref string error)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
            error = $"{name} '{value}': use a whole number from {min} to {max}";
        return n;
    }

    /// <summary><c>90</c>, <c>90s</c>, <c>1500ms</c>, <c>5m</c>, <c>1h</c>.</summary>
    internal static bool TrySeconds(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim().ToLowerInvariant();
        double scale = 1;
        if (text.EndsWith("ms", StringComparison.Ordinal)) { scale = 1e-3; text = text[..^2]; }
        else if (text.EndsWith('s')) text = text[..^1];
        else if (text.EndsWith('m')) { scale = 60; text = text[..^1]; }
        else if (text.EndsWith('h')) { scale = 3600; text = text[..^1]; }
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v * scale) || v * scale > 1e7) return false;
        value = TimeSpan.FromSeconds(v * scale);
        return true;
    }
}
