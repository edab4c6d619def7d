using System.Globalization;
using System.Text;

namespace Orion.Perf.Options;

/// <summary>
/// fio's CPU lists (<c>cpus_allowed</c>): CPU numbers and ranges separated by commas, <c>0-3,6</c>. The result is a
/// set, ascending and without repeats, as fio reads it.
/// </summary>
internal static class CpuList
{
    /// <summary>How to write one, for error messages.</summary>
    public const string Hint = "give CPU numbers and ranges separated by commas, for example 0-3,6";

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what was wrong (without the option name).</summary>
    public static bool TryParse(string text, out int[] cpus, out string error)
    {
        cpus = [];
        error = "";
        var set = new SortedSet<int>();
        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            error = $"the CPU list is empty; {Hint}";
            return false;
        }
        foreach (string raw in trimmed.Split(','))
        {
            string item = raw.Trim();
            if (item.Length == 0)
            {
                error = $"an empty item between commas; {Hint}";
                return false;
            }
            int dash = item.IndexOf('-', 1);
            string first = dash < 0 ? item : item[..dash];
            string last = dash < 0 ? item : item[(dash + 1)..];
            if (!TryCpu(first, out int lo, out error) || !TryCpu(last, out int hi, out error))
            {
                if (error.Length == 0) error = $"'{item}' is not a CPU number or range; {Hint}";
                return false;
            }
            if (hi < lo)
            {
                error = $"the range {item} runs backwards; write {hi.ToString(CultureInfo.InvariantCulture)}-{lo.ToString(CultureInfo.InvariantCulture)}";
                return false;
            }
            for (int c = lo; c <= hi; c++) set.Add(c);
        }
        cpus = [.. set];
        return true;
    }

    private static bool TryCpu(string text, out int cpu, out string error)
    {
        error = "";
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out cpu)) return false;
        if (cpu >= Orion.Pmd.Linux.CpuAffinity.MaxCpus)
        {
            error = $"CPU {cpu.ToString(CultureInfo.InvariantCulture)} is above the largest CPU number supported, {(Orion.Pmd.Linux.CpuAffinity.MaxCpus - 1).ToString(CultureInfo.InvariantCulture)}";
            return false;
        }
        return true;
    }

    /// <summary>The list in fio's compact form: runs of consecutive CPUs as ranges (<c>0-3,6</c>).</summary>
    public static string Format(IEnumerable<int> cpus)
    {
        var sorted = cpus.Distinct().Order().ToArray();
        var sb = new StringBuilder();
        for (int i = 0; i < sorted.Length;)
        {
            int j = i;
            while (j + 1 < sorted.Length && sorted[j + 1] == sorted[j] + 1) j++;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            if (j > i) sb.Append('-').Append(sorted[j].ToString(CultureInfo.InvariantCulture));
            i = j + 1;
        }
        return sb.ToString();
    }
}
