using System.Text;

namespace Orion.Perf.Options;

/// <summary>One meaningful line of a job file after fio's preprocessing, with where it came from.</summary>
/// <param name="Where">The file and line, as messages name it (<c>job.fio:12</c>).</param>
/// <param name="Text">The line without comments and surrounding blanks, <c>${VAR}</c> expanded in its value.</param>
public readonly record struct JobFileLine(string Where, string Text);

/// <summary>
/// What fio does to a job file's text before reading options: whole-line comments (<c>;</c> or <c>#</c> first),
/// inline comments (a <c>;</c> or <c>#</c> after a blank: <c>size=102404k ; 100Mb+4k</c>), <c>include FILE</c>
/// (relative to the including file; an included file may not hold sections), and <c>${VAR}</c> on the right of
/// '=' replaced by the environment variable VAR (empty when unset, as in fio).
/// </summary>
public static class JobFileSource
{
    /// <summary>How deep includes may nest before the file is refused (a cycle would otherwise never end).</summary>
    public const int MaxIncludeDepth = 16;

    /// <summary>
    /// The lines of <paramref name="text"/> (the file <paramref name="path"/>); includes are read with
    /// <paramref name="readFile"/> and environment variables from <paramref name="environment"/>. Problems go to
    /// <paramref name="errors"/>, each naming the file and line.
    /// </summary>
    public static List<JobFileLine> Read(string path, string text, Func<string, string> readFile, Func<string, string?> environment, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = new List<JobFileLine>();
        Append(path, text, readFile, environment, errors, lines, depth: 0, included: false);
        return lines;
    }

    private static void Append(string path, string text, Func<string, string> readFile, Func<string, string?> environment,
                               List<string> errors, List<JobFileLine> lines, int depth, bool included)
    {
        var raw = text.Split('\n');
        for (int n = 1; n <= raw.Length; n++)
        {
            string where = $"{path}:{n}";
            string line = StripComment(raw[n - 1]).Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith("include", StringComparison.Ordinal) && line.Length > 7 && char.IsWhiteSpace(line[7]))
            {
                string name = line[8..].Trim();
                string target = Path.IsPathRooted(name) ? name : Path.Combine(Path.GetDirectoryName(path) ?? "", name);
                if (depth >= MaxIncludeDepth)
                {
                    errors.Add($"{where}: include {name}: includes nest deeper than {MaxIncludeDepth} files; is a file including itself?");
                    continue;
                }
                if (TryRead(readFile, target, out string body) is { } why)
                {
                    errors.Add($"{where}: include {name}: cannot read '{target}': {why}");
                    continue;
                }
                Append(target, body, readFile, environment, errors, lines, depth + 1, included: true);
                continue;
            }
            if (included && line[0] == '[')
            {
                errors.Add($"{where}: '{line}': an included file may not contain sections (fio's rule); put the section in the including file");
                continue;
            }
            lines.Add(new JobFileLine(where, ExpandEnvironment(line, environment)));
        }
    }

    /// <summary>Reads <paramref name="path"/> into <paramref name="text"/>; returns why it could not (null on success).</summary>
    internal static string? TryRead(Func<string, string> readFile, string path, out string text)
    {
        try
        {
            text = readFile(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            text = "";
            return e.Message;
        }
    }

    /// <summary>The line up to its comment: one starting the line, or a <c>;</c>/<c>#</c> after a blank.</summary>
    internal static string StripComment(string line)
    {
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] is not (';' or '#')) continue;
            if (i == 0 || char.IsWhiteSpace(line[i - 1]) || line[..i].Trim().Length == 0) return line[..i];
        }
        return line;
    }

    /// <summary>Replaces <c>${NAME}</c> on the right of the first '=' with the variable's value (empty when unset).</summary>
    internal static string ExpandEnvironment(string line, Func<string, string?> environment)
    {
        int eq = line.IndexOf('=');
        if (eq < 0 || !line.Contains("${", StringComparison.Ordinal)) return line;
        var sb = new StringBuilder(line[..(eq + 1)]);
        string value = line[(eq + 1)..];
        int at = 0;
        while (at < value.Length)
        {
            int open = value.IndexOf("${", at, StringComparison.Ordinal);
            int close = open < 0 ? -1 : value.IndexOf('}', open + 2);
            if (open < 0 || close < 0)
            {
                sb.Append(value, at, value.Length - at);
                break;
            }
            sb.Append(value, at, open - at);
            sb.Append(environment(value[(open + 2)..close]) ?? "");
            at = close + 1;
        }
        return sb.ToString();
    }
}
