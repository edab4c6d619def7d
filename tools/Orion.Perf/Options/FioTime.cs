using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>
/// fio time values: a plain number is seconds (<c>--runtime=10</c>); suffixes <c>us</c>, <c>ms</c>, <c>s</c>,
/// <c>m</c> (minutes, as in fio), <c>h</c> and <c>d</c>.
/// </summary>
public static class FioTime
{
    /// <summary>What a time looks like, for error messages.</summary>
    public const string Hint = "use seconds, or a number with a us, ms, s, m (minutes) or h suffix (for example 10, 500ms or 2m)";

    /// <summary>Parses <paramref name="text"/>. A leading minus sign is accepted so that validation can say why it is wrong.</summary>
    public static bool TryParse(string? text, out TimeSpan time)
    {
        time = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        int end = 0;
        if (end < s.Length && s[end] is '-' or '+') end++;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] == '.')) end++;
        if (!double.TryParse(s[..end], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
            return false;
        double? ticksPerUnit = s[end..].ToLowerInvariant() switch
        {
            "" or "s" or "sec" or "secs" => TimeSpan.TicksPerSecond,
            "us" or "usec" or "usecs" => TimeSpan.TicksPerMicrosecond,
            "ms" or "msec" or "msecs" => TimeSpan.TicksPerMillisecond,
            "m" or "min" or "mins" => TimeSpan.TicksPerMinute,
            "h" or "hr" or "hour" or "hours" => TimeSpan.TicksPerHour,
            "d" or "day" or "days" => TimeSpan.TicksPerDay,
            _ => null,
        };
        if (ticksPerUnit is not double unit) return false;
        double ticks = Math.Round(value * unit);
        if (double.IsNaN(ticks) || Math.Abs(ticks) >= TimeSpan.MaxValue.Ticks) return false;
        time = TimeSpan.FromTicks((long)ticks);
        return true;
    }

    /// <summary>Formats a time the way fio users write it: whole seconds bare (<c>10</c>), otherwise with <c>ms</c> or <c>us</c>.</summary>
    public static string Format(TimeSpan time)
    {
        long ticks = time.Ticks;
        if (ticks % TimeSpan.TicksPerSecond == 0) return (ticks / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture);
        if (ticks % TimeSpan.TicksPerMillisecond == 0) return (ticks / TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture) + "ms";
        return (ticks / (double)TimeSpan.TicksPerMicrosecond).ToString("0.###", CultureInfo.InvariantCulture) + "us";
    }
}
