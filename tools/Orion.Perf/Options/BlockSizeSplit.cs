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
            error = $"--bssplit={text}: give one split here, or READ,WRITE[,TRIM] splits through TryParseDirections";
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

    /// <summary>
    /// Parses fio's <c>bssplit</c> with a split per direction, as fio's <c>str_split_parse</c> reads it: one split
    /// serves reads, writes and trims; <c>READ,WRITE</c> gives trims the write split; <c>READ,WRITE,TRIM</c> each its
    /// own. An empty part leaves that direction to <c>bs</c> (null).
    /// </summary>
    public static bool TryParseDirections(string text, out IReadOnlyList<BlockSizeShare>?[] splits, out string error)
    {
        splits = new IReadOnlyList<BlockSizeShare>?[3];
        error = "";
        string[] parts = text.Split(',');
        if (parts.Length > 3)
        {
            error = $"--bssplit={text}: give at most three splits, READ,WRITE,TRIM (for example --bssplit=4k/50:64k/50,64k/100)";
            return false;
        }
        if (parts.All(p => p.Trim().Length == 0))
        {
            error = "--bssplit: give SIZE/PERCENT entries separated by ':' (for example --bssplit=4k/50:64k/50)";
            return false;
        }
        for (int d = 0; d < 3; d++)
        {
            // fio: one part for all; with two, the trim split is the write one.
            string part = parts.Length == 1 ? parts[0] : d < parts.Length ? parts[d] : parts[1];
            if (part.Trim().Length == 0) continue;
            if (!TryParse(part, out var split, out error))
            {
                if (parts.Length > 1) error = error.Replace($"--bssplit={part}:", $"--bssplit={text}:", StringComparison.Ordinal);
                return false;
            }
            splits[d] = split;
        }
        return true;
    }

    /// <summary>The split as fio writes it: <c>4k/50:64k/50</c>.</summary>
    public static string Format(IReadOnlyList<BlockSizeShare> split) =>
        string.Join(':', split.Select(s => $"{FioSize.Format(s.Bytes)}/{s.Percent.ToString(CultureInfo.InvariantCulture)}"));
}
