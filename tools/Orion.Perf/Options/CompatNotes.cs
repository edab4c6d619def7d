namespace Orion.Perf.Options;

/// <summary>
/// Collects, over a whole parse, the fio options orion-perf accepts without effect, so each kind is told in one
/// note: options that do not apply to a block device, the engines named, and filenames that <c>--device</c> overrides.
/// </summary>
internal sealed class CompatNotes
{
    private readonly List<string> _notApplicable = [];
    private readonly List<string> _engines = [];
    private readonly List<string> _filenames = [];
    private string? _device;

    /// <summary>Records option <paramref name="key"/> (value <paramref name="value"/>) found at <paramref name="where"/>.</summary>
    public void Add(CompatKind kind, string key, string? value, string where)
    {
        string shown = value is null ? key : $"{key}={value}";
        switch (kind)
        {
            case CompatKind.NotApplicable:
                _notApplicable.Add($"{shown} ({where})");
                break;
            case CompatKind.Engine:
                if (!_engines.Contains(value ?? "")) _engines.Add(value ?? "");
                break;
        }
    }

    /// <summary>Records a job's <c>filename</c> that the <c>--device</c> given replaces.</summary>
    public void AddFilename(string filename, string device)
    {
        if (!_filenames.Contains(filename)) _filenames.Add(filename);
        _device = device;
    }

    /// <summary>The notes, one line per kind.</summary>
    public IReadOnlyList<string> Lines()
    {
        var lines = new List<string>();
        if (FioCompat.EngineNote(_engines) is { } engines) lines.Add(engines);
        if (_filenames.Count > 0) lines.Add($"filename={string.Join(", ", _filenames)} not used: the jobs run on --device={_device}");
        if (FioCompat.NotApplicableNote(_notApplicable) is { } ignored) lines.Add(ignored);
        return lines;
    }
}
