using System.Globalization;
using System.Text;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Faults;

/// <summary>What an injected fault does to the request that triggers it.</summary>
public enum FaultKind
{
    /// <summary>The request completes with VIRTIO_BLK_S_IOERR; nothing is read or written.</summary>
    IoError,
    /// <summary>The request completes with VIRTIO_BLK_S_UNSUPP; nothing is read or written.</summary>
    Unsupported,
    /// <summary>A latency spike: the device busy-waits <see cref="FaultRule.Duration"/>, then executes the request normally.</summary>
    Delay,
    /// <summary>The chain is consumed and never completed: no used element, the driver keeps it in flight until it times out.</summary>
    Drop,
    /// <summary>The queue stops serving for <see cref="FaultRule.Duration"/>; the request waits, then everything flows again.</summary>
    Stall,
    /// <summary>The device sets DEVICE_NEEDS_RESET and stops serving the queue (the request is not completed) until a queue reset.</summary>
    NeedsReset,
    /// <summary>The request is executed but the device writes a corrupted used element for it (<see cref="FaultRule.Garbage"/>).</summary>
    Garbage,
}

/// <summary>How a <see cref="FaultKind.Garbage"/> fault corrupts the used element.</summary>
public enum GarbageKind
{
    /// <summary>Not a garbage fault.</summary>
    None,
    /// <summary>An id at the queue size, out of range (the driver latches <c>UsedIdOutOfRange</c>).</summary>
    IdRange,
    /// <summary>An id in range that the driver does not have in flight (<c>UsedIdNotHead</c>).</summary>
    IdUnused,
    /// <summary>The id of the request completed before, again (<c>UsedIdNotHead</c>; with nothing to repeat, the request is completed twice).</summary>
    IdDuplicate,
    /// <summary>A used length one byte beyond the chain's device-writable bytes (<c>UsedLengthTooLarge</c>).</summary>
    Length,
    /// <summary>Packed rings only: a used descriptor whose AVAIL/USED bits carry the previous lap's wrap counter (<c>WrapCounterInvalid</c>); never fires on a split ring.</summary>
    Wrap,
}

/// <summary>
/// One fault rule: what (<see cref="Kind"/>, with <see cref="Duration"/> for delay and stall, <see cref="Garbage"/> for
/// garbage), to which requests (<see cref="Queue"/>, <see cref="Type"/>; null matches all) and when: with probability
/// <see cref="RatePercent"/> % per matching request (a seeded PRNG per queue), on every <see cref="Every"/>-th matching
/// request, or once on the <see cref="At"/>-th. Exactly one trigger is set. Requests are counted per queue, only
/// those that pass the rule's filter.
/// </summary>
public sealed record FaultRule
{
    /// <summary>The fault.</summary>
    public required FaultKind Kind { get; init; }
    /// <summary>How the used element is corrupted (<see cref="FaultKind.Garbage"/> only).</summary>
    public GarbageKind Garbage { get; init; }
    /// <summary>How long a delay or a stall lasts.</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>Only this queue index; null: every queue.</summary>
    public int? Queue { get; init; }
    /// <summary>Only this request type; null: every type.</summary>
    public BlkRequestType? Type { get; init; }
    /// <summary>Probability per matching request in percent (0 &lt; rate ≤ 100); 0 when another trigger is used.</summary>
    public double RatePercent { get; init; }
    /// <summary>Fires on every N-th matching request (N ≥ 1); 0 when another trigger is used.</summary>
    public long Every { get; init; }
    /// <summary>Fires once, on the N-th matching request (N ≥ 1); 0 when another trigger is used.</summary>
    public long At { get; init; }

    /// <summary>The rule's text in the <see cref="FaultPlan"/> grammar, e.g. <c>ioerr:rate=1%:type=write</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(FaultPlan.KindName(Kind));
        if (Kind is FaultKind.Delay or FaultKind.Stall) sb.Append('=').Append(FaultPlan.FormatDuration(Duration));
        if (Kind == FaultKind.Garbage) sb.Append('=').Append(FaultPlan.GarbageName(Garbage));
        if (RatePercent > 0) sb.Append(":rate=").Append(RatePercent.ToString("R", CultureInfo.InvariantCulture)).Append('%');
        if (Every > 0) sb.Append(":every=").Append(Every.ToString(CultureInfo.InvariantCulture));
        if (At > 0) sb.Append(":at=").Append(At.ToString(CultureInfo.InvariantCulture));
        if (Queue is int q) sb.Append(":queue=").Append(q.ToString(CultureInfo.InvariantCulture));
        if (Type is { } t) sb.Append(":type=").Append(FaultPlan.TypeName(t));
        return sb.ToString();
    }
}

/// <summary>
/// A fault-injection plan for the software device: rules separated by <c>;</c>, each a kind followed by
/// <c>:</c>-separated fields, plus an optional <c>seed=N</c> item for the rate PRNG:
/// <code>
/// plan    = item *(";" item)
/// item    = rule / "seed=" N
/// rule    = kind *(":" field)
/// kind    = "ioerr" / "unsupp" / "drop" / "needs-reset" / "delay=" DURATION / "stall=" DURATION
///         / "garbage=" ("id-range" / "id-unused" / "id-duplicate" / "length" / "wrap")
/// field   = "rate=" P ["%"] / "every=" N / "at=" N        ; exactly one trigger
///         / "queue=" N / "type=" ("read" / "write" / "flush" / "discard" / "write-zeroes" / "get-id")
/// DURATION = number with ns, us, ms or s (a plain number is microseconds)
/// </code>
/// e.g. <c>ioerr:rate=1%:type=write;drop:every=1000:queue=0;garbage=id-range:at=500;seed=7</c>. <c>delay:20us</c>
/// (a colon instead of <c>=</c>) is accepted too. A rate without <c>%</c> is a fraction (<c>rate=0.01</c> = 1 %).
/// When several rules fire on one request, the first one in the plan is applied (each rule still counts the request).
/// <see cref="ToString"/> gives the canonical text, which parses back to an equal plan.
/// </summary>
public sealed class FaultPlan : IEquatable<FaultPlan>
{
    /// <summary>The seed used when the plan names none.</summary>
    public const ulong DefaultSeed = 1;

    /// <summary>The longest delay or stall accepted.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(60);

    /// <summary>Creates a plan of <paramref name="rules"/> (at least one).</summary>
    public FaultPlan(IEnumerable<FaultRule> rules, ulong seed = DefaultSeed)
    {
        Rules = [.. rules];
        if (Rules.Count == 0) throw new ArgumentException("a fault plan needs at least one rule", nameof(rules));
        foreach (var r in Rules)
            if (Validate(r) is { } error) throw new ArgumentException($"fault rule '{r}': {error}", nameof(rules));
        Seed = seed;
    }

    /// <summary>The rules, in the order they are tried.</summary>
    public IReadOnlyList<FaultRule> Rules { get; }

    /// <summary>The seed of the per-queue PRNGs behind <c>rate=</c> triggers (queue k uses a stream derived from it and k).</summary>
    public ulong Seed { get; }

    private const string KindsHelp =
        "ioerr, unsupp, drop, needs-reset, delay=DURATION, stall=DURATION or garbage=id-range|id-unused|id-duplicate|length|wrap";
    private const string FieldsHelp =
        "rate=P% (for example rate=1%), every=N, at=N, queue=N or type=read|write|flush|discard|write-zeroes|get-id";
    private const string Example = "for example ioerr:rate=1%:type=write;drop:every=1000:queue=0;garbage=id-range:at=500";

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> saying what is wrong and what would be right.</summary>
    public static FaultPlan Parse(string text)
    {
        if (TryParse(text, out var plan, out var error)) return plan;
        throw new FormatException(error);
    }

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong and what would be right.</summary>
    public static bool TryParse(string? text, out FaultPlan plan, out string error)
    {
        plan = null!;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = $"empty fault plan; give one or more rules separated by ';', {Example}";
            return false;
        }
        var rules = new List<FaultRule>();
        ulong seed = DefaultSeed;
        bool seedSeen = false;
        foreach (var rawItem in text.Split(';'))
        {
            string item = rawItem.Trim();
            if (item.Length == 0)
            {
                error = $"empty rule in fault plan '{text}' (two ';' in a row, or one at an end); {Example}";
                return false;
            }
            if (item.StartsWith("seed=", StringComparison.OrdinalIgnoreCase))
            {
                if (seedSeen || !ulong.TryParse(item.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out seed))
                {
                    error = seedSeen ? $"'{item}': the seed is given twice; give one seed=N" : $"'{item}' is not a valid seed; use seed=N with N a non-negative integer (for example seed=42)";
                    return false;
                }
                seedSeen = true;
                continue;
            }
            if (!TryParseRule(item, out var rule, out error)) return false;
            rules.Add(rule);
        }
        if (rules.Count == 0)
        {
            error = $"fault plan '{text}' has a seed but no rule; {Example}";
            return false;
        }
        plan = new FaultPlan(rules, seed);
        return true;
    }

    private static bool TryParseRule(string item, out FaultRule rule, out string error)
    {
        rule = null!;
        error = "";
        var fields = item.Split(':', StringSplitOptions.TrimEntries);
        string head = fields[0];
        int eq = head.IndexOf('=');
        string kindText = (eq < 0 ? head : head[..eq]).ToLowerInvariant();
        string? arg = eq < 0 ? null : head[(eq + 1)..];
        FaultKind kind;
        switch (kindText)
        {
            case "ioerr": kind = FaultKind.IoError; break;
            case "unsupp": kind = FaultKind.Unsupported; break;
            case "delay": kind = FaultKind.Delay; break;
            case "drop": kind = FaultKind.Drop; break;
            case "stall": kind = FaultKind.Stall; break;
            case "needs-reset": kind = FaultKind.NeedsReset; break;
            case "garbage": kind = FaultKind.Garbage; break;
            default:
                error = $"unknown fault kind '{kindText}' in '{item}'; expected {KindsHelp}";
                return false;
        }
        bool takesArg = kind is FaultKind.Delay or FaultKind.Stall or FaultKind.Garbage;
        int first = 1;
        // "delay:20us" / "garbage:id-range": the argument as the first field, when it is not a key=value field.
        if (takesArg && arg is null && fields.Length > 1 && !fields[1].Contains('='))
        {
            arg = fields[1];
            first = 2;
        }
        if (!takesArg && arg is not null)
        {
            error = $"'{head}': {kindText} takes no argument; write just '{kindText}' followed by its trigger, {Example}";
            return false;
        }
        string argHelp = kind == FaultKind.Garbage
            ? "garbage=id-range|id-unused|id-duplicate|length|wrap"
            : $"{kindText}=DURATION with ns, us, ms or s, above 0 and at most 60s (for example {kindText}=50us or {kindText}=10ms)";
        TimeSpan duration = TimeSpan.Zero;
        GarbageKind garbage = GarbageKind.None;
        if (takesArg)
        {
            if (string.IsNullOrWhiteSpace(arg))
            {
                error = $"'{item}': {kindText} needs an argument; use {argHelp}";
                return false;
            }
            if (kind == FaultKind.Garbage)
            {
                garbage = arg.ToLowerInvariant() switch
                {
                    "id-range" => GarbageKind.IdRange,
                    "id-unused" => GarbageKind.IdUnused,
                    "id-duplicate" => GarbageKind.IdDuplicate,
                    "length" => GarbageKind.Length,
                    "wrap" => GarbageKind.Wrap,
                    _ => GarbageKind.None,
                };
                if (garbage == GarbageKind.None)
                {
                    error = $"unknown garbage kind '{arg}' in '{item}'; use {argHelp}";
                    return false;
                }
            }
            else if (!TryParseDuration(arg, out duration) || duration <= TimeSpan.Zero || duration > MaxDuration)
            {
                error = $"'{arg}' in '{item}' is not a valid duration; use {argHelp}";
                return false;
            }
        }
        double rate = 0;
        long every = 0, at = 0;
        int? queue = null;
        BlkRequestType? type = null;
        int triggers = 0;
        for (int i = first; i < fields.Length; i++)
        {
            string f = fields[i];
            int e = f.IndexOf('=');
            string key = e < 0 ? f.ToLowerInvariant() : f[..e].Trim().ToLowerInvariant();
            string value = e < 0 ? "" : f[(e + 1)..].Trim();
            switch (key)
            {
                case "rate":
                    triggers++;
                    if (!TryParseRate(value, out rate))
                    {
                        error = $"'{f}' in '{item}' is not a valid rate; use rate=P% with 0 < P <= 100 (for example rate=1% or rate=0.5%), or a fraction without % (rate=0.01)";
                        return false;
                    }
                    break;
                case "every":
                    triggers++;
                    if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out every) || every < 1)
                    {
                        error = $"'{f}' in '{item}' is not a valid schedule; use every=N with N >= 1 (every=1000: the 1000th, 2000th, ... matching request)";
                        return false;
                    }
                    break;
                case "at":
                    triggers++;
                    if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out at) || at < 1)
                    {
                        error = $"'{f}' in '{item}' is not a valid schedule; use at=N with N >= 1 (at=500: once, on the 500th matching request)";
                        return false;
                    }
                    break;
                case "queue":
                    if (queue is not null || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int q) || q > 255)
                    {
                        error = $"'{f}' in '{item}' is not a valid queue filter; use queue=N once, N a queue index from 0 to 255";
                        return false;
                    }
                    queue = q;
                    break;
                case "type":
                    if (type is not null || !TryParseType(value, out var t))
                    {
                        error = $"'{f}' in '{item}' is not a valid request type filter; use type= once, with read, write, flush, discard, write-zeroes or get-id";
                        return false;
                    }
                    type = t;
                    break;
                default:
                    error = $"unknown field '{f}' in fault rule '{item}'; expected {FieldsHelp}";
                    return false;
            }
        }
        if (triggers != 1)
        {
            error = triggers == 0
                ? $"fault rule '{item}' has no trigger; add one of :rate=P% (for example :rate=1%), :every=N or :at=N"
                : $"fault rule '{item}' has {triggers} triggers; give exactly one of rate=, every= or at=";
            return false;
        }
        rule = new FaultRule { Kind = kind, Garbage = garbage, Duration = duration, RatePercent = rate, Every = every, At = at, Queue = queue, Type = type };
        return true;
    }

    private static string? Validate(FaultRule r)
    {
        int triggers = (r.RatePercent > 0 ? 1 : 0) + (r.Every > 0 ? 1 : 0) + (r.At > 0 ? 1 : 0);
        if (triggers != 1) return "exactly one trigger (RatePercent, Every or At) must be set";
        if (r.RatePercent is < 0 or > 100 || double.IsNaN(r.RatePercent)) return "the rate must be above 0 and at most 100 %";
        if (r.Every < 0 || r.At < 0) return "Every and At cannot be negative";
        if (r.Kind is FaultKind.Delay or FaultKind.Stall && (r.Duration <= TimeSpan.Zero || r.Duration > MaxDuration))
            return "a delay or stall needs a duration above 0 and at most 60 s";
        if ((r.Kind == FaultKind.Garbage) != (r.Garbage != GarbageKind.None)) return "a garbage rule, and only a garbage rule, names a garbage kind";
        if (r.Queue is < 0 or > 255) return "the queue filter must be from 0 to 255";
        return null;
    }

    private static bool TryParseRate(string text, out double percent)
    {
        percent = 0;
        bool isPercent = text.EndsWith('%');
        var number = isPercent ? text.AsSpan(0, text.Length - 1).Trim() : text.AsSpan();
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v)) return false;
        percent = isPercent ? v : v * 100;
        return percent > 0 && percent <= 100 && double.IsFinite(percent);
    }

    private static bool TryParseType(string text, out BlkRequestType type)
    {
        (bool ok, type) = text.ToLowerInvariant() switch
        {
            "read" or "in" => (true, BlkRequestType.In),
            "write" or "out" => (true, BlkRequestType.Out),
            "flush" => (true, BlkRequestType.Flush),
            "discard" => (true, BlkRequestType.Discard),
            "write-zeroes" or "write-zeros" => (true, BlkRequestType.WriteZeroes),
            "get-id" => (true, BlkRequestType.GetId),
            _ => (false, default(BlkRequestType)),
        };
        return ok;
    }

    internal static string TypeName(BlkRequestType t) => t switch
    {
        BlkRequestType.In => "read",
        BlkRequestType.Out => "write",
        BlkRequestType.Flush => "flush",
        BlkRequestType.Discard => "discard",
        BlkRequestType.WriteZeroes => "write-zeroes",
        BlkRequestType.GetId => "get-id",
        _ => ((uint)t).ToString(CultureInfo.InvariantCulture),
    };

    internal static string KindName(FaultKind k) => k switch
    {
        FaultKind.IoError => "ioerr",
        FaultKind.Unsupported => "unsupp",
        FaultKind.Delay => "delay",
        FaultKind.Drop => "drop",
        FaultKind.Stall => "stall",
        FaultKind.NeedsReset => "needs-reset",
        _ => "garbage",
    };

    internal static string GarbageName(GarbageKind g) => g switch
    {
        GarbageKind.IdRange => "id-range",
        GarbageKind.IdUnused => "id-unused",
        GarbageKind.IdDuplicate => "id-duplicate",
        GarbageKind.Length => "length",
        GarbageKind.Wrap => "wrap",
        _ => "none",
    };

    /// <summary><c>20us</c>, <c>1.5ms</c>, <c>20</c> (microseconds), <c>1s</c>, <c>500ns</c>.</summary>
    public static bool TryParseDuration(ReadOnlySpan<char> text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        text = text.Trim();
        double scaleUs = 1;
        if (text.EndsWith("us", StringComparison.OrdinalIgnoreCase)) text = text[..^2];
        else if (text.EndsWith("µs", StringComparison.Ordinal)) text = text[..^2];
        else if (text.EndsWith("ns", StringComparison.OrdinalIgnoreCase)) { text = text[..^2]; scaleUs = 1e-3; }
        else if (text.EndsWith("ms", StringComparison.OrdinalIgnoreCase)) { text = text[..^2]; scaleUs = 1e3; }
        else if (text.EndsWith("s", StringComparison.OrdinalIgnoreCase)) { text = text[..^1]; scaleUs = 1e6; }
        if (text.IsEmpty || !double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)) return false;
        double us = value * scaleUs;
        if (!double.IsFinite(us) || us > MaxDuration.TotalMicroseconds * 2) return false;
        duration = TimeSpan.FromTicks((long)Math.Round(us * TimeSpan.TicksPerMicrosecond));
        return true;
    }

    /// <summary>The largest unit that states <paramref name="d"/> exactly: <c>2s</c>, <c>10ms</c>, <c>50us</c>, <c>1500ns</c>... parses back equal.</summary>
    public static string FormatDuration(TimeSpan d)
    {
        long t = d.Ticks;
        string n(long v) => v.ToString(CultureInfo.InvariantCulture);
        if (t % TimeSpan.TicksPerSecond == 0) return n(t / TimeSpan.TicksPerSecond) + "s";
        if (t % TimeSpan.TicksPerMillisecond == 0) return n(t / TimeSpan.TicksPerMillisecond) + "ms";
        if (t % TimeSpan.TicksPerMicrosecond == 0) return n(t / TimeSpan.TicksPerMicrosecond) + "us";
        return n(t * 100) + "ns";
    }

    /// <summary>The canonical text: the rules joined by <c>;</c>, then <c>;seed=N</c> unless the seed is the default.</summary>
    public override string ToString() =>
        string.Join(';', Rules.Select(r => r.ToString())) + (Seed != DefaultSeed ? $";seed={Seed.ToString(CultureInfo.InvariantCulture)}" : "");

    /// <inheritdoc />
    public bool Equals(FaultPlan? other) => other is not null && Seed == other.Seed && Rules.SequenceEqual(other.Rules);
    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as FaultPlan);
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Seed, Rules.Count, Rules[0]);
}
