using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>
/// fio size values (<c>4k</c>, <c>1m</c>, <c>1g</c>, <c>512</c>, <c>1t</c>, <c>4KiB</c>) with kb_base=1024: every
/// prefix is a power of 1024.
/// </summary>
/// <remarks>
/// fio 3.33 in its default compatibility mode reads the IEC spellings backwards (<c>4KiB</c> = 4000 bytes). We read
/// <c>KiB</c> as 1024 because that is what anyone typing it means, and 4000 would fail the 512-byte alignment anyway.
/// </remarks>
public static class FioSize
{
    /// <summary>What a size looks like, for error messages.</summary>
    public const string Hint = "use a number with an optional k, m, g or t suffix (powers of 1024, for example 4k or 1g)";

    /// <summary>Parses <paramref name="text"/> into bytes; false when it is not a non-negative size.</summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        int end = 0;
        bool hex = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        if (hex)
        {
            end = 2;
            while (end < s.Length && char.IsAsciiHexDigit(s[end])) end++;
            if (end == 2) return false;
        }
        else
        {
            while (end < s.Length && char.IsAsciiDigit(s[end])) end++;
            if (end == 0) return false;
        }
        int shift = SuffixShift(s[end..]);
        if (shift < 0) return false;
        var digits = hex ? s[2..end] : s[..end];
        var style = hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None;
        if (!long.TryParse(digits, style, CultureInfo.InvariantCulture, out long value) || value < 0) return false;
        if (value > (long.MaxValue >> shift)) return false;
        bytes = value << shift;
        return true;
    }

    /// <summary>Formats bytes the way a fio user would type them: the largest binary unit that divides exactly (<c>4k</c>, <c>1g</c>, <c>1000</c>).</summary>
    public static string Format(long bytes)
    {
        ReadOnlySpan<char> units = ['p', 't', 'g', 'm', 'k'];
        for (int i = 0; i < units.Length; i++)
        {
            int shift = 10 * (units.Length - i);
            long unit = 1L << shift;
            if (bytes != 0 && bytes % unit == 0) return (bytes >> shift).ToString(CultureInfo.InvariantCulture) + units[i];
        }
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Formats bytes for people: <c>1 GiB</c>, <c>1.5 MiB</c>, <c>512 B</c>.</summary>
    public static string Describe(long bytes) => Orion.Pmd.Device.Backends.SizeText.Describe(bytes);

    /// <summary>The power of two of a suffix (<c>k</c> → 10), or -1 when it is not a size suffix.</summary>
    private static int SuffixShift(string suffix)
    {
        var s = suffix.ToLowerInvariant();
        if (s.Length == 0 || s == "b") return 0;
        // Accept k, kb, ki, kib (any case) for each prefix.
        if (s.EndsWith('b')) s = s[..^1];
        if (s.Length == 2 && s[1] == 'i') s = s[..1];
        return s switch { "k" => 10, "m" => 20, "g" => 30, "t" => 40, "p" => 50, _ => -1 };
    }
}
