using System.Text;

namespace Orion.Vhost;

/// <summary>
/// stderr for systemd's journal: every line starts with its syslog level as <c>&lt;N&gt;</c>, which journald takes
/// off and records as the entry's priority (<c>SyslogLevelPrefix=yes</c>, its default), so <c>journalctl -p warning</c>
/// finds the problems. Used when systemd connected stderr to the journal (it sets <c>JOURNAL_STREAM</c>); a terminal
/// or a log file gets the plain lines.
/// </summary>
internal sealed class JournalWriter : TextWriter
{
    /// <summary>syslog's levels that orion-vhost uses.</summary>
    internal const int Error = 3, Warning = 4, Info = 6;

    private readonly TextWriter _inner;
    private readonly StringBuilder _line = new();

    private JournalWriter(TextWriter inner)
    {
        _inner = inner;
        CoreNewLine = ['\n'];
    }

    /// <summary><paramref name="stderr"/> with level prefixes when <paramref name="journalStream"/> (the value of
    /// <c>JOURNAL_STREAM</c>) says systemd reads it, otherwise <paramref name="stderr"/> itself.</summary>
    public static TextWriter For(TextWriter stderr, string? journalStream) =>
        string.IsNullOrEmpty(journalStream) ? stderr : new JournalWriter(stderr);

    /// <inheritdoc />
    public override Encoding Encoding => _inner.Encoding;

    /// <summary>
    /// The level of one of orion-vhost's lines: errors (it cannot start, or fails) <see cref="Error"/>; a front-end's
    /// request refused, an accept that failed, memory taken unsealed <see cref="Warning"/>; the rest (serving,
    /// connected, closed, stopped) <see cref="Info"/>.
    /// </summary>
    internal static int Level(string line) =>
        line.Contains("error", StringComparison.OrdinalIgnoreCase) ? Error
        : line.Contains("refused", StringComparison.Ordinal) || line.Contains("failed", StringComparison.Ordinal) ||
          line.Contains("unsealed", StringComparison.Ordinal) || line.Contains("limit", StringComparison.Ordinal) ? Warning
        : Info;

    /// <inheritdoc />
    public override void Write(char value)
    {
        lock (_line)
        {
            if (value != '\n')
            {
                _line.Append(value);
                return;
            }
            string line = _line.ToString();
            _line.Clear();
            _inner.Write($"<{Level(line)}>{line}\n");
            _inner.Flush();
        }
    }

    /// <inheritdoc />
    public override void Write(string? value)
    {
        if (value is null) return;
        lock (_line)
            foreach (char c in value) Write(c);
    }

    /// <inheritdoc />
    public override void Write(char[] buffer, int index, int count)
    {
        lock (_line)
            for (int i = 0; i < count; i++) Write(buffer[index + i]);
    }

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();
}
