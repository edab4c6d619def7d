using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orion.Perf.Gate;

/// <summary>Samples stored by <c>--save NAME</c>: every round, and where they were measured.</summary>
internal sealed record StoredBaseline(string Name, string Command, DateTimeOffset CreatedUtc, MachineInfo Machine, BuildInfo Build, IReadOnlyList<RoundSample> Rounds);

/// <summary>
/// <c>--save NAME</c> and <c>--against NAME</c>: one JSON file per name, <c>DIR/NAME.gate.json</c>, in
/// <c>--store DIR</c> (default <c>perf/baselines</c> under the working directory, created when missing). The file is
/// read as untrusted input: a wrong format, version or value is refused with the reason.
/// </summary>
internal static partial class BaselineStore
{
    /// <summary>The store used without <c>--store</c>, relative to the working directory.</summary>
    public const string DefaultDirectory = "perf/baselines";

    private const string Format = "orion-perf-gate-baseline";
    private const int Version = 1;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string name) => NamePattern().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal);

    public const string NameRule = "a name is 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit (for example main or pr-42)";

    public static string PathOf(string directory, string name) => Path.Combine(directory, name + ".gate.json");

    public static void Save(string directory, StoredBaseline b)
    {
        Directory.CreateDirectory(directory);
        string path = PathOf(directory, b.Name);
        string temp = path + ".tmp";
        using (var stream = File.Create(temp))
        using (var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            j.WriteString("format", Format);
            j.WriteNumber("version", Version);
            j.WriteString("name", b.Name);
            j.WriteString("command", b.Command);
            j.WriteString("created_utc", b.CreatedUtc.ToString("O", CultureInfo.InvariantCulture));
            j.WriteStartObject("machine");
            j.WriteString("cpu_model", b.Machine.CpuModel);
            j.WriteNumber("cores", b.Machine.Cores);
            j.WriteString("kernel", b.Machine.Kernel);
            j.WriteEndObject();
            j.WriteStartObject("build");
            if (b.Build.Commit is null) j.WriteNull("git_commit"); else j.WriteString("git_commit", b.Build.Commit);
            if (b.Build.Dirty is bool dirty) j.WriteBoolean("git_dirty", dirty); else j.WriteNull("git_dirty");
            j.WriteEndObject();
            j.WriteStartArray("rounds");
            foreach (var r in b.Rounds)
            {
                j.WriteStartObject();
                j.WriteStartObject("values");
                foreach (var (k, v) in r.Values) j.WriteNumber(k, v);
                j.WriteEndObject();
                j.WriteStartObject("clat_samples");
                foreach (var (k, v) in r.ClatSamples) j.WriteNumber(k, v);
                j.WriteEndObject();
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        File.Move(temp, path, overwrite: true);      // a reader never sees half a file
    }

    public static bool TryLoad(string directory, string name, out StoredBaseline baseline, out string error)
    {
        baseline = null!;
        string path = PathOf(directory, name);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            error = $"--against {name}: no stored baseline {path}; record one with --save {name} (or give --store DIR)";
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"--against {name}: {path}: {e.Message}";
            return false;
        }
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var f) || f.ValueKind != JsonValueKind.String || f.GetString() != Format)
                throw new FormatException($"not a stored gate baseline (expected \"format\": \"{Format}\", as written by --save)");
            if (!root.TryGetProperty("version", out var v) || !v.TryGetInt32(out int version) || version != Version)
                throw new FormatException($"version {(root.TryGetProperty("version", out var vv) ? vv.ToString() : "missing")}; this orion-perf reads version {Version}");
            var m = Object(root, "machine");
            var machine = new MachineInfo(String(m, "cpu_model"), m.TryGetProperty("cores", out var c) && c.TryGetInt32(out int cores) && cores > 0 ? cores : throw new FormatException("machine.cores is not a positive whole number"),
                                          String(m, "kernel"));
            var build = root.TryGetProperty("build", out var bEl) && bEl.ValueKind == JsonValueKind.Object
                ? new BuildInfo(bEl.TryGetProperty("git_commit", out var gc) && gc.ValueKind == JsonValueKind.String ? gc.GetString() : null,
                                bEl.TryGetProperty("git_dirty", out var gd) && gd.ValueKind is JsonValueKind.True or JsonValueKind.False ? gd.GetBoolean() : null)
                : new BuildInfo(null, null);
            if (!root.TryGetProperty("rounds", out var rounds) || rounds.ValueKind != JsonValueKind.Array || rounds.GetArrayLength() == 0)
                throw new FormatException("\"rounds\" is missing or empty");
            var list = new List<RoundSample>();
            foreach (var r in rounds.EnumerateArray())
            {
                var values = new Dictionary<string, double>();
                foreach (var p in Object(r, "values").EnumerateObject())
                    values[p.Name] = p.Value.TryGetDouble(out double d) && double.IsFinite(d) ? d : throw new FormatException($"rounds[{list.Count}].values.{p.Name} is not a finite number");
                var samples = new Dictionary<string, long>();
                foreach (var p in Object(r, "clat_samples").EnumerateObject())
                    samples[p.Name] = p.Value.TryGetInt64(out long n) && n >= 0 ? n : throw new FormatException($"rounds[{list.Count}].clat_samples.{p.Name} is not a count");
                list.Add(new RoundSample(values, samples));
            }
            var created = root.TryGetProperty("created_utc", out var cu) && cu.ValueKind == JsonValueKind.String
                          && DateTimeOffset.TryParse(cu.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when) ? when : DateTimeOffset.MinValue;
            string command = root.TryGetProperty("command", out var cmd) && cmd.ValueKind == JsonValueKind.String ? cmd.GetString()! : "";
            baseline = new StoredBaseline(name, command, created, machine, build, list);
            error = "";
            return true;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            error = $"--against {name}: {path}: {e.Message}";
            return false;
        }
    }

    private static JsonElement Object(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Object ? e
        : throw new FormatException($"\"{name}\" is missing or not an object");

    private static string String(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"\"{name}\" is missing or not a string");
}
