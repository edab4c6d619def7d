using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>One entry of fio's <c>bssplit</c>: a block size and the percentage of I/Os that use it.</summary>
public readonly record struct BlockSizeShare(int Bytes, int Percent);

/// <summary>Parses and formats fio's <c>bssplit</c> (<c>4k/50:64k/50</c>).</summary>
public static class BlockSizeSplit
{
    /// <summary>
    /// Parses <paramref name="text"/> as fio does: <c>SIZE/PERCENT</c> entries separated by ':'; entries without a
    /// percentage share what the others leave of 100 equally. The percentages must add up to 100.
    /// </summary>
    public static bool TryParse(string text, out IReadOnlyList<BlockSizeShare> split, out string error)
    {
        split = [];
        error = "";
        string s = text.Trim();
        if (s.Contains(','))
        {
            error = $"--bssplit={text}: separate read and write splits are not supported yet; give one split (for example --bssplit=4k/50:64k/50)";
            return false;
        }
        if (s.Length == 0)
        {
            error = "--bssplit: give SIZE/PERCENT entries separated by ':' (for example --bssplit=4k/50:64k/50)";
            return false;
        }
        var sizes = new List<int>();
        var percents = new List<int?>();
        foreach (var entry in s.Split(':'))
        {
            int slash = entry.IndexOf('/');
            string sizeText = slash < 0 ? entry : entry[..slash];
            if (!FioSize.TryParse(sizeText, out long bytes) || bytes <= 0)
            {
                error = $"--bssplit={text}: '{sizeText}' is not a size; {FioSize.Hint}";
                return false;
            }
            if (bytes % 512 != 0)
            {
                error = $"--bssplit={text}: {FioSize.Format(bytes)} is not a multiple of 512 bytes";
                return false;
            }
            if (bytes > JobOptions.MaxBlockSize)
            {
                error = $"--bssplit={text}: block size {FioSize.Format(bytes)} is above the largest, {FioSize.Format(JobOptions.MaxBlockSize)}";
                return false;
            }
            int? percent = null;
            if (slash >= 0)
            {
                string p = entry[(slash + 1)..];
                if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n > 100)
                {
                    error = $"--bssplit={text}: '{p}' is not a percentage from 0 to 100";
                    return false;
                }
                percent = n;
            }
            sizes.Add((int)bytes);
            percents.Add(percent);
        }
        int given = percents.Sum(p => p ?? 0);
        int missing = percents.Count(p => p is null);
        if (given > 100 || (missing == 0 && given != 100))
        {
            error = $"--bssplit={text}: the percentages add up to {given}, not 100";
            return false;
        }
        var result = new List<BlockSizeShare>();
        int share = missing == 0 ? 0 : (100 - given) / missing;
        int extra = missing == 0 ? 0 : (100 - given) % missing;       // the first entries without a percentage take the remainder
        for (int i = 0; i < sizes.Count; i++)
        {
            int p = percents[i] ?? share + (extra-- > 0 ? 1 : 0);
            if (p > 0) result.Add(new BlockSizeShare(sizes[i], p));
        }
        split = result;
        return true;
    }

    /// <summary>The split as fio writes it: <c>4k/50:64k/50</c>.</summary>
    public static string Format(IReadOnlyList<BlockSizeShare> split) =>
        string.Join(':', split.Select(s => $"{FioSize.Format(s.Bytes)}/{s.Percent.ToString(CultureInfo.InvariantCulture)}"));
}
