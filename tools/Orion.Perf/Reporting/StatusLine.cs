using System.Globalization;
using System.Text;
using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>
/// fio's live status line, shown on a terminal while a job runs:
/// <c>Jobs: 1 (f=1): [r(1)][45.0%][r=1234MiB/s][r=316k IOPS][eta 00m:05s]</c>.
/// </summary>
internal static class StatusLine
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] DirectionLetters = ["r", "w", "t"];

    /// <summary>What the line shows at one moment.</summary>
    /// <param name="Jobs">Workloads running (fio's threads: <c>numjobs</c>).</param>
    /// <param name="State">fio's run-state letter: <see cref="StateOf"/>, <c>/</c> while ramping up.</param>
    /// <param name="Percent">Work done, 0 to 100.</param>
    /// <param name="Directions">Which directions (read, write, trim) the job does: those get a rate.</param>
    /// <param name="BytesPerSecond">Current bandwidth per direction.</param>
    /// <param name="Iops">Current I/Os per second per direction.</param>
    /// <param name="Eta">Time left; null when it cannot be told.</param>
    public sealed record Snapshot(int Jobs, char State, double Percent, bool[] Directions, double[] BytesPerSecond, double[] Iops, TimeSpan? Eta);

    /// <summary>The line, as fio prints it (without the carriage return).</summary>
    public static string Format(Snapshot s)
    {
        var sb = new StringBuilder();
        sb.Append("Jobs: ").Append(s.Jobs.ToString(Inv)).Append(" (f=").Append(s.Jobs.ToString(Inv)).Append("): [")
          .Append(s.State).Append('(').Append(s.Jobs.ToString(Inv)).Append(")][")
          .Append(Math.Clamp(s.Percent, 0, 100).ToString("0.0", Inv)).Append("%]");
        var shown = Enumerable.Range(0, 3).Where(d => s.Directions[d]).ToList();
        if (shown.Count > 0)
        {
            sb.Append('[').AppendJoin(',', shown.Select(d => DirectionLetters[d] + "=" +
                FioFormat.Num2Str((ulong)Math.Max(0, s.BytesPerSecond[d]), FioFormat.SigFigs, pow2: true, FioFormat.Unit.BytePerSec))).Append(']');
            sb.Append('[').AppendJoin(',', shown.Select(d => DirectionLetters[d] + "=" +
                FioFormat.Num2Str((ulong)Math.Max(0, s.Iops[d]), FioFormat.SigFigs, pow2: false, FioFormat.Unit.None))).Append(" IOPS]");
        }
        sb.Append("[eta ").Append(Eta(s.Eta)).Append(']');
        return sb.ToString();
    }

    /// <summary>fio's eta_to_str: <c>00m:05s</c>, <c>01h:02m:03s</c>, <c>01d:00h:00m:00s</c>; <c>--</c> when unknown.</summary>
    public static string Eta(TimeSpan? eta)
    {
        if (eta is not TimeSpan t) return "--";
        long total = (long)Math.Ceiling(Math.Max(0, t.TotalSeconds));
        long s = total % 60, m = total / 60 % 60, h = total / 3600 % 24, d = total / 86400;
        var sb = new StringBuilder();
        if (d > 0) sb.Append(d.ToString("00", Inv)).Append("d:");
        if (h > 0 || d > 0) sb.Append(h.ToString("00", Inv)).Append("h:");
        return sb.Append(m.ToString("00", Inv)).Append("m:").Append(s.ToString("00", Inv)).Append('s').ToString();
    }

    /// <summary>
    /// fio's run-state letter of a running job: random read <c>r</c>, sequential read <c>R</c>, random write
    /// <c>w</c>, sequential write <c>W</c>, random mixed <c>m</c>, sequential mixed <c>M</c>, random trim <c>d</c>,
    /// sequential trim <c>D</c>.
    /// </summary>
    public static char StateOf(bool random, bool trim, int readPercent)
    {
        if (trim) return random ? 'd' : 'D';
        if (readPercent >= 100) return random ? 'r' : 'R';
        if (readPercent <= 0) return random ? 'w' : 'W';
        return random ? 'm' : 'M';
    }

    /// <summary>
    /// Whether to show the line: only when both standard output and standard error are terminals (the line goes
    /// to standard error, the report to standard output), and never while JSON goes to standard output.
    /// </summary>
    public static bool ShouldShow(bool stdoutRedirected, bool stderrRedirected, OutputFormat format, string? outputPath) =>
        !stdoutRedirected && !stderrRedirected && (format == OutputFormat.Normal || outputPath is not null);

    /// <summary>
    /// Writes lines over each other with a carriage return, blanking what a longer previous line left, and clears
    /// the line at the end.
    /// </summary>
    internal sealed class Writer(TextWriter output)
    {
        private int _shown;

        public void Show(string line)
        {
            output.Write("\r" + line + new string(' ', Math.Max(0, _shown - line.Length)));
            output.Flush();
            _shown = line.Length;
        }

        public void Clear()
        {
            if (_shown == 0) return;
            output.Write("\r" + new string(' ', _shown) + "\r");
            output.Flush();
            _shown = 0;
        }
    }
}
