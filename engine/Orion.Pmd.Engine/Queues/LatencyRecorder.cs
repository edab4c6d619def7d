using System.Diagnostics;
using System.Runtime.CompilerServices;
using HdrHistogram;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// A queue's latency histogram: recorded on the reactor, handed to the monitor by a swap for an empty spare. The
/// reactor performs the swap between polls, so the histogram is never read while being written.
/// </summary>
internal sealed class LatencyRecorder
{
    /// <summary>Highest latency the histograms track: one minute in nanoseconds; slower completions are clamped to it.</summary>
    public const long MaxTrackedLatencyNs = 60_000_000_000L;

    private LongHistogram _latency = NewHistogram();
    private LongHistogram _spare = NewHistogram();
    private volatile bool _swapRequested;
    private volatile bool _swapDone;

    /// <summary>A histogram of the range every queue records.</summary>
    public static LongHistogram NewHistogram() => new(1, MaxTrackedLatencyNs, 3);

    /// <summary>Hot path: records one latency in Stopwatch ticks (nanoseconds on Linux), clamped to the tracked range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long ticks) => _latency.RecordValue(Math.Clamp(ticks, 1, MaxTrackedLatencyNs));

    /// <summary>Whether the monitor waits for a swap (read by the reactor each poll).</summary>
    public bool SwapRequested => _swapRequested;

    /// <summary>Reactor thread (or any thread while the reactor does not run): puts the spare in place of the full histogram.</summary>
    public void Swap()
    {
        (_latency, _spare) = (_spare, _latency);
        _swapRequested = false;
        _swapDone = true;
    }

    /// <summary>
    /// Takes the histogram recorded since the last call, leaving an empty one in its place: swapped by the reactor
    /// (waiting up to <paramref name="timeout"/>), or directly when the reactor does not run (manual mode or stopped).
    /// </summary>
    public LongHistogram Take(Reactor reactor, int queue, bool reactorRunning, TimeSpan timeout)
    {
        if (!reactorRunning || reactor.IsCurrent)
        {
            Swap();
        }
        else
        {
            _swapDone = false;
            _swapRequested = true;
            long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            var spin = new SpinWait();
            while (!_swapDone)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                    throw new TimeoutException($"reactor of queue {queue} did not hand over its histogram within {timeout.TotalMilliseconds} ms");
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        _swapDone = false;
        return _spare;
    }

    /// <summary>Gives back an emptied histogram for the next swap.</summary>
    public void ReturnSpare(LongHistogram emptied) => _spare = emptied;
}
