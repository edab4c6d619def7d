namespace Orion.Perf.Options;

/// <summary>Edit distance, to suggest the option a user probably meant.</summary>
internal static class Levenshtein
{
    /// <summary>Insertions, deletions and substitutions (case-insensitive) that turn <paramref name="a"/> into <paramref name="b"/>.</summary>
    public static int Distance(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }

    /// <summary>The candidate nearest to <paramref name="word"/>, or null when none is close enough to be a typo.</summary>
    public static string? Nearest(string word, IEnumerable<string> candidates)
    {
        // A third of the word's length (at least 2) catches transpositions and a dropped letter without
        // suggesting unrelated options for short words.
        int limit = Math.Max(2, word.Length / 3);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Distance(word, c);
            if (d < bestDistance) { best = c; bestDistance = d; }
        }
        return bestDistance <= limit ? best : null;
    }
}
