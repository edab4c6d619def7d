using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;

namespace Orion.Perf.Gate;

/// <summary>
/// The gate's verdict for people and for CI: a console table, a Markdown summary (a CI step summary), JUnit XML (one
/// test case per metric: regressed and undecided ones fail, not-judged ones are skipped, a side that failed to run
/// is an error case of its own) and a JSON verdict with every round's samples.
/// </summary>
internal static class GateReportWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void WriteConsole(TextWriter w, GateReport r)
    {
        if (r.Results.Count > 0)
        {
            var rows = r.Rows.ToList();
            var header = r.Header;
            var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(l => l[i].Length))).ToArray();
            string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i is 0 or 7 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
            w.WriteLine(Line(header));
            foreach (var l in rows) w.WriteLine(Line(l));
        }
        w.WriteLine($"method: {r.Method}; {r.CandidateRounds} candidate round(s), {r.BaselineRounds} baseline round(s); stopped: {r.StopReason}");
        var detect = r.Results.Where(x => x.Detectable is not null).Select(x => $"{x.Name} {GateReport.Detectable(x)}").ToList();
        if (detect.Count > 0) w.WriteLine($"smallest change this run could have detected (interval half-width): {string.Join(", ", detect)}");
        w.WriteLine($"{r.OutcomeWord}: {r.Summary}");
    }

    public static string Markdown(GateReport r)
    {
        var s = new StringBuilder();
        s.AppendLine($"### orion-perf gate: {r.OutcomeWord}");
        s.AppendLine();
        s.AppendLine(Escape(r.Summary));
        s.AppendLine();
        if (r.Results.Count > 0)
        {
            s.AppendLine("| " + string.Join(" | ", r.Header) + " |");
            s.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", r.Header.Length - 2)) + "---|");
            foreach (var row in r.Rows)
                s.AppendLine("| " + string.Join(" | ", row.Select((c, i) => i == 7 && c == "REGRESSED" ? "**REGRESSED**" : Escape(c))) + " |");
            s.AppendLine();
        }
        s.AppendLine($"- baseline: {Code(r.BaselineLabel)}");
        s.AppendLine($"- candidate: {Code(r.CandidateCommand)}");
        s.AppendLine($"- {Escape(r.Method)}; {r.CandidateRounds} candidate and {r.BaselineRounds} baseline round(s); stopped: {Escape(r.StopReason)}");
        s.AppendLine($"- machine: {Escape(r.Machine.ToString())}; build: {Escape(r.Build.ToString())}");
        return s.ToString();
    }

    /// <summary>JUnit XML as Jenkins, GitLab and the GitHub test-report actions read it.</summary>
    public static string JUnit(GateReport r)
    {
        var text = new StringBuilder();
        using (var x = XmlWriter.Create(text, new XmlWriterSettings { Indent = true, Encoding = Encoding.UTF8, OmitXmlDeclaration = false }))
        {
            int failures = r.Results.Count(m => m.Verdict is Verdict.Regressed or Verdict.Undecided);
            int skipped = r.Results.Count(m => m.Verdict == Verdict.NotJudged);
            int errors = r.Failure is null ? 0 : 1;
            string time = r.Elapsed.TotalSeconds.ToString("0.###", Inv);
            x.WriteStartElement("testsuites");
            x.WriteAttributeString("name", "orion-perf gate");
            x.WriteStartElement("testsuite");
            x.WriteAttributeString("name", "orion-perf gate");
            x.WriteAttributeString("tests", (r.Results.Count + errors).ToString(Inv));
            x.WriteAttributeString("failures", failures.ToString(Inv));
            x.WriteAttributeString("errors", errors.ToString(Inv));
            x.WriteAttributeString("skipped", skipped.ToString(Inv));
            x.WriteAttributeString("time", time);
            x.WriteStartElement("properties");
            Property(x, "outcome", r.OutcomeWord);
            Property(x, "baseline", r.BaselineLabel);
            Property(x, "candidate", r.CandidateCommand);
            Property(x, "method", r.Method);
            Property(x, "machine", r.Machine.ToString());
            Property(x, "build", r.Build.ToString());
            x.WriteEndElement();
            if (r.Failure is not null)
            {
                x.WriteStartElement("testcase");
                x.WriteAttributeString("classname", "orion-perf.gate");
                x.WriteAttributeString("name", "run");
                x.WriteStartElement("error");
                x.WriteAttributeString("type", "side-failed");
                x.WriteAttributeString("message", XmlSafe(r.Failure));
                x.WriteEndElement();
                x.WriteEndElement();
            }
            foreach (var m in r.Results)
            {
                x.WriteStartElement("testcase");
                x.WriteAttributeString("classname", "orion-perf.gate");
                x.WriteAttributeString("name", XmlSafe(m.Name));
                string detail = $"baseline {GateReport.Value(m.Spec, m.BaselineMedian)}, candidate {GateReport.Value(m.Spec, m.CandidateMedian)}, " +
                                $"change {(m.Change is { } c ? GateReport.Change(m, c.Point) : "-")} {GateReport.Interval(m)}, tolerance {m.Spec.FormatTolerance(m.Tolerance)}, " +
                                $"detectable {GateReport.Detectable(m)}";
                switch (m.Verdict)
                {
                    case Verdict.Regressed or Verdict.Undecided:
                        x.WriteStartElement("failure");
                        x.WriteAttributeString("type", m.Verdict == Verdict.Regressed ? "regressed" : "undecided");
                        x.WriteAttributeString("message", XmlSafe($"{m.Name} {m.Reason}: {detail}"));
                        x.WriteString(detail);
                        x.WriteEndElement();
                        break;
                    case Verdict.NotJudged:
                        x.WriteStartElement("skipped");
                        x.WriteAttributeString("message", m.Reason);
                        x.WriteEndElement();
                        break;
                    default:
                        x.WriteElementString("system-out", detail);
                        break;
                }
                x.WriteEndElement();
            }
            x.WriteEndElement();
            x.WriteEndElement();
        }
        // StringBuilder output says utf-16 in the declaration; the file is written as UTF-8.
        return text.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal);
    }

    public static string Json(GateReport r, IReadOnlyList<RoundSample> baseline, IReadOnlyList<RoundSample> candidate)
    {
        using var stream = new MemoryStream();
        using (var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("verdict", r.Outcome.ToString().ToLowerInvariant());
            j.WriteNumber("exit_code", r.ExitCode);
            j.WriteString("summary", r.Summary);
            if (r.Failure is null) j.WriteNull("failure"); else j.WriteString("failure", r.Failure);
            j.WriteString("baseline", r.BaselineLabel);
            j.WriteString("candidate", r.CandidateCommand);
            j.WriteNumber("baseline_rounds", r.BaselineRounds);
            j.WriteNumber("candidate_rounds", r.CandidateRounds);
            j.WriteBoolean("paired", r.Paired);
            j.WriteNumber("confidence", r.Confidence);
            j.WriteNumber("bootstrap_resamples", GateStatistics.Resamples);
            j.WriteNumber("seed", r.Seed);
            j.WriteString("stopped", r.StopReason);
            j.WriteNumber("elapsed_s", Math.Round(r.Elapsed.TotalSeconds, 3));
            j.WriteStartObject("machine");
            j.WriteString("cpu_model", r.Machine.CpuModel);
            j.WriteNumber("cores", r.Machine.Cores);
            j.WriteString("kernel", r.Machine.Kernel);
            j.WriteEndObject();
            if (r.Build.Commit is null) j.WriteNull("git_commit"); else j.WriteString("git_commit", r.Build.Commit);
            j.WriteStartArray("metrics");
            foreach (var m in r.Results)
            {
                string key = RoundSample.Key(m.Spec, m.Direction);
                j.WriteStartObject();
                j.WriteString("name", m.Name);
                j.WriteString("metric", m.Spec.Name);
                if (m.Direction is null) j.WriteNull("direction"); else j.WriteString("direction", m.Direction);
                j.WriteString("kind", m.Spec.Counted ? "counted" : "timed");
                j.WriteString("scale", m.Spec.Scale == ChangeScale.Relative ? "ratio" : "difference");
                j.WriteString("unit", m.Spec.Unit);
                j.WriteBoolean("higher_is_worse", m.Spec.HigherIsWorse);
                j.WriteString("verdict", m.Verdict switch { Verdict.Pass => "pass", Verdict.Regressed => "regressed", Verdict.Undecided => "undecided", _ => "not_judged" });
                j.WriteString("reason", m.Reason);
                Number(j, "baseline_median", m.BaselineMedian);
                Number(j, "candidate_median", m.CandidateMedian);
                Number(j, "change", m.Change?.Point);
                Number(j, "change_low", m.Change?.Low);
                Number(j, "change_high", m.Change?.High);
                j.WriteNumber("tolerance", m.Tolerance);
                Number(j, "detectable", m.Detectable);
                j.WriteStartObject("samples");
                Samples(j, "baseline", baseline, key);
                Samples(j, "candidate", candidate, key);
                j.WriteEndObject();
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Samples(Utf8JsonWriter j, string name, IReadOnlyList<RoundSample> rounds, string key)
    {
        j.WriteStartArray(name);
        foreach (var s in rounds)
            if (s.Values.TryGetValue(key, out double v)) j.WriteNumberValue(v); else j.WriteNullValue();
        j.WriteEndArray();
    }

    private static void Number(Utf8JsonWriter j, string name, double? v)
    {
        if (v is double d && double.IsFinite(d)) j.WriteNumber(name, d); else j.WriteNull(name);
    }

    private static void Property(XmlWriter x, string name, string value)
    {
        x.WriteStartElement("property");
        x.WriteAttributeString("name", name);
        x.WriteAttributeString("value", XmlSafe(value));
        x.WriteEndElement();
    }

    /// <summary>Drops characters XML cannot carry (a failing side's standard error may hold any byte).</summary>
    private static string XmlSafe(string s) => s.All(XmlConvert.IsXmlChar) ? s : new string(s.Where(XmlConvert.IsXmlChar).ToArray());

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static string Code(string s) => "`" + s.Replace("`", "'", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal) + "`";
}
