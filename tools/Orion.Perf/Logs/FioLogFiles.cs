using System.Text;

namespace Orion.Perf.Logs;

/// <summary>
/// The fio log files of one run, by path: each is created (truncated) the first time a job asks for it and stays
/// open until the run ends, so clones and jobs that share a name (<c>per_job_logs=0</c>) append to one file, as in
/// fio. Main thread only.
/// </summary>
internal sealed class FioLogFiles : IDisposable
{
    private readonly Dictionary<string, StreamWriter> _open = new(StringComparer.Ordinal);

    /// <summary>
    /// The writer of <paramref name="path"/>, created now if it is new to the run: fio's compressed store
    /// (<see cref="FioCompressedLog"/>) when the job's <c>log_store_compressed</c> asks for it, else text.
    /// </summary>
    public StreamWriter Open(string path, Options.JobOptions? o = null)
    {
        string key = Path.GetFullPath(path);
        if (_open.TryGetValue(key, out var writer)) return writer;
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16);
        writer = o is { StoresCompressedLogs: true }
            ? new FioCompressedLog(stream, o.LogCompression, o.LogOffset, o.LogPrio)
            : new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16) { NewLine = "\n" };
        _open.Add(key, writer);
        return writer;
    }

    /// <summary>Writes out what every file buffered.</summary>
    public void Flush()
    {
        foreach (var w in _open.Values) w.Flush();
    }

    public void Dispose()
    {
        foreach (var w in _open.Values) w.Dispose();
        _open.Clear();
    }
}
