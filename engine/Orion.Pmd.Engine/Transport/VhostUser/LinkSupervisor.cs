using System.Diagnostics;

namespace Orion.Pmd.Engine.Transport.VhostUser;

/// <summary>
/// Watches a vhost-user connection from a control thread that sleeps in poll(2) on the socket, so the reactors pay
/// nothing for it. When the back-end hangs up it asks the engine to suspend the queues, reconnects with bounded
/// exponential back-off until <see cref="VhostUserOptions.ReconnectTimeout"/>, and asks the engine to rebuild the
/// rings and resubmit what was outstanding; past the deadline the engine fails those requests instead.
/// </summary>
internal sealed class LinkSupervisor : IDisposable
{
    /// <summary>First pause between reconnect attempts; doubles up to <see cref="MaxBackoff"/>.</summary>
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(10);
    /// <summary>Longest pause between reconnect attempts.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(500);

    private readonly VhostUserTransport _transport;
    private readonly ILinkRecovery _engine;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();

    public LinkSupervisor(VhostUserTransport transport, ILinkRecovery engine)
    {
        _transport = transport;
        _engine = engine;
        _thread = new Thread(Run) { IsBackground = true, Name = "orion-vhost-link" };
    }

    /// <summary>Reconnections completed.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);
    private int _reconnects;

    /// <summary>Set once the back-end stayed away past the deadline: the device is lost for good.</summary>
    public bool Lost { get; private set; }

    /// <summary>The last reconnect failure, for diagnostics.</summary>
    public string? LastError { get; private set; }

    public void Start() => _thread.Start();

    private void Run()
    {
        while (!_stop.IsSet)
        {
            if (!_transport.WaitForHangUp(100)) continue;
            if (_stop.IsSet) return;
            // Serialized with device resets, which reconnect too (a vhost-user reset is a reconnect): once this thread
            // gets its turn the connection may be a fresh, healthy one, and there is nothing to recover.
            bool engineServes = _engine.RunExclusive(() => _stop.IsSet, () =>
            {
                if (_transport.ConnectionLost) Recover();
            });
            if (!engineServes && !_stop.IsSet)
            {
                Lost = true;        // the engine gave the device up (a reset failed): nothing left to reconnect for
                return;
            }
            if (Lost) return;
        }
    }

    private void Recover()
    {
        long since = Stopwatch.GetTimestamp();
        var deadline = since + (long)(_transport.Options.ReconnectTimeout.TotalSeconds * Stopwatch.Frequency);
        _engine.SuspendQueues();
        _transport.Disconnect();
        var backoff = FirstBackoff;
        while (!_stop.IsSet)
        {
            try
            {
                _transport.Reconnect();
                _engine.RestoreQueues();
                Interlocked.Increment(ref _reconnects);
                return;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or TimeoutException)
            {
                LastError = e.Message;
                // A back-end that came back as a different disk will not get better by waiting.
                bool permanent = e is InvalidDataException or NotSupportedException;
                if (permanent || Stopwatch.GetTimestamp() + backoff.TotalSeconds * Stopwatch.Frequency > deadline)
                {
                    Lost = true;
                    double waited = Stopwatch.GetElapsedTime(since).TotalSeconds;
                    _engine.FailQueues(permanent
                        ? $"{_transport.Description} came back unusable: {e.Message}"
                        : $"{_transport.Description} went away and did not come back within {_transport.Options.ReconnectTimeout.TotalSeconds:0.#} s " +
                          $"(waited {waited:0.#} s; last attempt: {e.Message})");
                    return;
                }
                _stop.Wait(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    public void Dispose()
    {
        _stop.Set();
        if (_thread.IsAlive && Thread.CurrentThread != _thread) _thread.Join();
        _stop.Dispose();
    }
}

/// <summary>What the supervisor asks of the engine; every call returns once all queues have done it.</summary>
internal interface ILinkRecovery
{
    /// <summary>Every queue delivers what the old ring completed and stops touching it.</summary>
    void SuspendQueues();

    /// <summary>Every queue gets a fresh ring, the back-end is told about it, and held requests go out again.</summary>
    void RestoreQueues();

    /// <summary>Every held and pending request fails with <paramref name="detail"/>; later ones fail at once.</summary>
    void FailQueues(string detail);

    /// <summary>
    /// Runs <paramref name="recover"/> while no device reset runs (and none starts), waiting for one under way unless
    /// <paramref name="stop"/> says to give up. False, without running it, when the engine gave the device up or is
    /// being disposed (or <paramref name="stop"/> said so).
    /// </summary>
    bool RunExclusive(Func<bool> stop, Action recover);
}
