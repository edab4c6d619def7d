namespace Orion.Pmd.Device.Backends;

/// <summary>Formats byte sizes the way device strings spell them (<c>1G</c>, <c>512M</c>, <c>4096</c>).</summary>
public static class SizeText
{
    /// <summary>Largest binary unit that divides the size exactly.</summary>
    public static string Format(long bytes)
    {
        ReadOnlySpan<char> units = ['T', 'G', 'M', 'K'];
        for (int i = 0; i < units.Length; i++)
        {
            long unit = 1L << (10 * (units.Length - i));
            if (bytes >= unit && bytes % unit == 0) return $"{bytes / unit}{units[i]}";
        }
        return bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Bytes for people: <c>1 GiB</c>, <c>1.5 MiB</c>, <c>512 B</c>.</summary>
    public static string Describe(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = bytes;
        int i = 0;
        while (v >= 1024 && i < units.Length - 1) { v /= 1024; i++; }
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return i == 0 ? $"{bytes.ToString(inv)} B" : $"{v.ToString("0.##", inv)} {units[i]}";
    }

    /// <summary>Parses <c>4096</c>, <c>4k</c>, <c>1G</c>, <c>2m</c>, <c>1t</c>, <c>4KiB</c> (binary units, fio's kb_base=1024).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out long bytes)
    {
        bytes = 0;
        text = text.Trim();
        if (text.EndsWith("iB", StringComparison.OrdinalIgnoreCase) || text.EndsWith("ib", StringComparison.Ordinal)) text = text[..^2];
        else if (text.Length > 1 && (text[^1] is 'B' or 'b') && char.IsLetter(text[^2])) text = text[..^1];
        if (text.IsEmpty) return false;
        int shift = char.ToLowerInvariant(text[^1]) switch { 'k' => 10, 'm' => 20, 'g' => 30, 't' => 40, 'p' => 50, _ => 0 };
        if (shift != 0) text = text[..^1];
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value)) return false;
        if (value > (long.MaxValue >> shift)) return false;
        bytes = value << shift;
        return true;
    }
}
