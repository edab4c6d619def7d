using System.Globalization;

namespace Orion.Perf.Logs;

/// <summary>
/// Writes fio's log lines (iolog.c <c>flush_samples</c>, fio 3.x): <c>time, value, direction, block size[, offset],
/// priority</c>, fields separated by ", ", through a reused character buffer so that a line allocates nothing.
/// </summary>
internal sealed class FioLogLine(bool offset, bool prio)
{
    private readonly char[] _scratch = new char[160];

    /// <summary>Whether lines carry the offset column (fio <c>log_offset</c>).</summary>
    public bool Offset { get; } = offset;

    /// <summary>One line to <paramref name="w"/>.</summary>
    public void Write(TextWriter w, long timeMs, long value, int direction, long blockSize, long offsetBytes)
    {
        if (w is FioCompressedLog z)
        {
            z.AddSample(timeMs, value, direction, blockSize, offsetBytes);
            return;
        }
        var s = _scratch.AsSpan();
        int n = Put(s, timeMs);
        n += Sep(s[n..]);
        n += Put(s[n..], value);
        n += Sep(s[n..]);
        n += Put(s[n..], direction);
        n += Sep(s[n..]);
        n += Put(s[n..], blockSize);
        if (Offset)
        {
            n += Sep(s[n..]);
            n += Put(s[n..], offsetBytes);
        }
        n += Sep(s[n..]);
        // fio: with log_prio the I/O's priority as 0x%04x, else whether its class is real-time; orion I/O has neither.
        if (prio)
        {
            "0x0000".AsSpan().CopyTo(s[n..]);
            n += 6;
        }
        else s[n++] = '0';
        s[n++] = '\n';
        w.Write(s[..n]);
    }

    /// <summary>Formats <paramref name="value"/> at the start of <paramref name="into"/>; returns the length.</summary>
    public static int Put(Span<char> into, long value)
    {
        value.TryFormat(into, out int written, default, CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>fio's field separator.</summary>
    public static int Sep(Span<char> into)
    {
        into[0] = ',';
        into[1] = ' ';
        return 2;
    }
}
