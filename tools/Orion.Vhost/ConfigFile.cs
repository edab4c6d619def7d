namespace Orion.Vhost;

/// <summary>
/// orion-vhost's configuration file (<c>--config FILE</c>): its command-line options, one per line, named without the
/// leading <c>--</c>: <c>socket = /run/orion-vhost/vu.sock</c>, <c>queues = 2</c>, and a flag alone on its line
/// (<c>readonly</c>). Blank lines and lines starting with <c>#</c> are ignored. The file's options come first and
/// the command line's after them, so a flag given on the command line wins.
/// </summary>
internal static class ConfigFile
{
    /// <summary>Options that take no value, in the file as on the command line.</summary>
    private static readonly string[] Flags = ["readonly", "allow-unsealed-memory"];

    /// <summary>
    /// Takes <c>--config FILE</c> (or <c>--config=FILE</c>) out of <paramref name="args"/> and puts the file's options in
    /// front of the rest. Returns false with <paramref name="error"/> naming the file and line of the first problem.
    /// </summary>
    public static bool TryExpand(IReadOnlyList<string> args, out List<string> expanded, out string error)
    {
        expanded = [];
        error = "";
        string? path = null;
        var rest = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--config" || arg.StartsWith("--config=", StringComparison.Ordinal))
            {
                if (path is not null) { error = "--config is given twice; give one configuration file"; return false; }
                if (arg.Length > "--config".Length) path = arg["--config=".Length..];
                else if (i + 1 < args.Count) path = args[++i];
                if (string.IsNullOrEmpty(path)) { error = "--config needs a value (a configuration file, for example /etc/orion-vhost/orion-vhost.conf)"; return false; }
                continue;
            }
            rest.Add(arg);
        }
        if (path is null)
        {
            expanded = rest;
            return true;
        }
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"--config {path}: cannot read it: {e.Message}";
            return false;
        }
        if (!TryParse(path, lines, expanded, out error)) return false;
        expanded.AddRange(rest);
        return true;
    }

    /// <summary>The options in <paramref name="lines"/> as <c>--name=value</c> arguments.</summary>
    internal static bool TryParse(string path, IReadOnlyList<string> lines, List<string> args, out string error)
    {
        error = "";
        for (int n = 0; n < lines.Count; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            string where = $"{path} line {n + 1}";
            int eq = line.IndexOf('=');
            string name = (eq < 0 ? line : line[..eq]).Trim();
            string value = eq < 0 ? "" : line[(eq + 1)..].Trim();
            if (name.StartsWith('-'))
            {
                error = $"{where}: '{name}': write option names without the leading dashes (socket = PATH, not --socket = PATH)";
                return false;
            }
            if (name is "config" or "help" or "version" || !CommandLine.Known.Contains("--" + name))
            {
                error = $"{where}: unknown option '{name}'; the file takes orion-vhost's options without the leading -- " +
                        "(socket, device, queues, readonly, mode, ...: orion-vhost --help lists them)";
                return false;
            }
            if (Flags.Contains(name))
            {
                if (eq >= 0) { error = $"{where}: '{name}' takes no value; write it alone on its line"; return false; }
                args.Add("--" + name);
                continue;
            }
            if (eq < 0 || value.Length == 0)
            {
                error = $"{where}: '{name}' needs a value: {name} = VALUE";
                return false;
            }
            args.Add($"--{name}={value}");
        }
        return true;
    }
}
