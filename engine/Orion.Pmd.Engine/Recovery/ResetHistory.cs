using System.Diagnostics;

namespace Orion.Pmd.Engine.Recovery;

/// <summary>
/// One queue's recent queue resets, for escalation: whether it keeps breaking (the last N resets within a window),
/// whether escalation is paused (device resets made no progress) until a request succeeds again, and when a queue
/// the device did not take back was last tried. Reactor thread of that queue only (or its owner while it is stopped).
/// </summary>
internal sealed class ResetHistory(int resetsBeforeEscalation, long windowTicks)
{
    private readonly long[] _resetTimes = new long[Math.Max(1, resetsBeforeEscalation)];
    private int _next;
    private bool _paused;
    private long _goodAtPause;

    /// <summary>Queue resets within the window after which the next recovery escalates.</summary>
    public int ResetsBeforeEscalation => _resetTimes.Length;

    /// <summary>The window, in Stopwatch ticks, of <see cref="ResetsBeforeEscalation"/>.</summary>
    public long WindowTicks => windowTicks;

    /// <summary>When the last attempt to get a refused queue served again was made (Stopwatch ticks).</summary>
    public long UnservedTriedAt { get; set; }

    /// <summary>Counts a queue reset at <paramref name="now"/>.</summary>
    public void NoteReset(long now) => _resetTimes[_next++ % _resetTimes.Length] = now;

    /// <summary>Whether the last <see cref="ResetsBeforeEscalation"/> queue resets all fell within the window before <paramref name="now"/>.</summary>
    public bool KeepsBreaking(long now)
    {
        if (_next < _resetTimes.Length) return false;
        long oldest = _resetTimes[_next % _resetTimes.Length];
        return now - oldest <= windowTicks;
    }

    /// <summary>A fresh device (or a declined reset) starts with a clean record.</summary>
    public void Clear() => _next = 0;

    /// <summary>Device resets made no progress: no escalation until the queue's good completions move past <paramref name="goodNow"/>.</summary>
    public void Pause(long goodNow)
    {
        _paused = true;
        _goodAtPause = goodNow;
        _next = 0;
    }

    /// <summary>Whether escalation is paused, given the queue's good completions now (a success ends the pause).</summary>
    public bool IsPaused(long goodNow)
    {
        if (!_paused) return false;
        if (goodNow == _goodAtPause) return true;
        _paused = false;
        return false;
    }

    /// <summary>Milliseconds of <see cref="WindowTicks"/>, for messages.</summary>
    public double WindowMs => windowTicks * 1000.0 / Stopwatch.Frequency;
}
