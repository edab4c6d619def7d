using System.Globalization;

namespace Orion.Perf.Reporting;

/// <summary>fio's number formatting (its <c>num2str</c>, time and date formats), so the text report reads like fio's.</summary>
internal static class FioFormat
{
    /// <summary>fio's default significant figures (<c>significant_figures=4</c>).</summary>
    public const int SigFigs = 4;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Units appended by <see cref="Num2Str"/>.</summary>
    public enum Unit
    {
        /// <summary>No unit.</summary>
        None,
        /// <summary>Bytes.</summary>
        Byte,
        /// <summary>Bytes per second.</summary>
        BytePerSec,
    }

    /// <summary>
    /// A port of fio's <c>num2str(num, maxlen, base=1, pow2, units)</c>: divides by 1000 (or 1024) until at most
    /// <paramref name="maxlen"/> digits remain, then fills the rest with decimals: <c>9440k</c>, <c>36.0GiB</c>.
    /// </summary>
    public static string Num2Str(ulong num, int maxlen, bool pow2, Unit unit)
    {
        string[] prefixes = pow2 ? ["", "Ki", "Mi", "Gi", "Ti", "Pi"] : ["", "k", "M", "G", "T", "P"];
        string unitText = unit switch { Unit.Byte => "B", Unit.BytePerSec => "B/s", _ => "" };
        uint thousand = pow2 ? 1024u : 1000u;
        int post = 0;
        long modulo = -1;
        bool carry = false;
        while (post < prefixes.Length)
        {
            if (Digits(num) <= maxlen) break;
            modulo = (long)(num % thousand);
            num /= thousand;
            carry = modulo >= thousand / 2;
            post++;
        }
        if (post >= prefixes.Length) post = 0;
        if (modulo == -1) return Done(num);

        int len = Digits(num);
        if (maxlen - len <= 1)
        {
            if (carry) num++;
            return Done(num);
        }
        string frac = ((double)modulo / thousand).ToString("F" + (maxlen - len - 1).ToString(Inv), Inv);
        // "0.96" → ".96"; a rounding up to "1.0" carries into the integer part, as in fio.
        if (frac[0] == '1') num++;
        return $"{num.ToString(Inv)}.{frac[2..]}{prefixes[post]}{unitText}";

        string Done(ulong n) => $"{n.ToString(Inv)}{prefixes[post]}{unitText}";
    }

    /// <summary>C's <c>%W.Df</c>: <paramref name="decimals"/> decimals, right-aligned to <paramref name="width"/>.</summary>
    public static string F(double value, int width, int decimals) =>
        (double.IsFinite(value) ? value : 0).ToString("F" + decimals.ToString(Inv), Inv).PadLeft(width);

    /// <summary>C's <c>ctime</c> without the newline, in local time: <c>Tue Nov  4 12:19:02 2026</c>.</summary>
    public static string CTime(DateTimeOffset time)
    {
        var t = time.ToLocalTime();
        return $"{t.ToString("ddd MMM", Inv)} {t.Day.ToString(Inv),2} {t.ToString("HH:mm:ss yyyy", Inv)}";
    }

    /// <summary>Milliseconds as fio counts runtime: whole, rounded.</summary>
    public static long Ms(TimeSpan t) => (long)Math.Round(t.TotalMilliseconds, MidpointRounding.AwayFromZero);

    private static int Digits(ulong n) => n.ToString(Inv).Length;
}
