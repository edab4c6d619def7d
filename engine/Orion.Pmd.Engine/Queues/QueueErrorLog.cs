using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// A queue's failures, for diagnosis: every failed request counted by status, the last
/// <see cref="RecentErrorCapacity"/> kept, and the exceptions completion callbacks threw. Written on the reactor
/// (error path only), read from any thread.
/// </summary>
internal sealed class QueueErrorLog(int queue, Action<int, long, Exception>? callbackFaulted)
{
    /// <summary>How many failed requests each queue keeps for diagnosis.</summary>
    public const int RecentErrorCapacity = 32;

    private readonly IoErrorRecord[] _recent = new IoErrorRecord[RecentErrorCapacity];
    private long _recentWritten;
    private readonly Lock _recentLock = new();             // taken only on the error path and by readers
    private readonly long[] _byStatus = new long[256];     // indexed by IoStatus; written by the reactor only
    private long _errors, _callbackFaults;
    private Exception? _firstCallbackFault, _lastCallbackFault;

    /// <summary>Failed requests so far (a withdrawn one is not a failure).</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Exceptions completion callbacks threw so far.</summary>
    public long CallbackFaults => Volatile.Read(ref _callbackFaults);

    /// <summary>The first exception a completion callback threw (diagnostics; any thread).</summary>
    public Exception? FirstCallbackFault => Volatile.Read(ref _firstCallbackFault);

    /// <summary>The latest exception a completion callback threw (diagnostics; any thread).</summary>
    public Exception? LastCallbackFault => Volatile.Read(ref _lastCallbackFault);

    /// <summary>Reactor thread: <paramref name="r"/> failed (its status and detail are set).</summary>
    public void Record(BlockRequest r)
    {
        _errors++;
        _byStatus[(byte)r.Status]++;
        var record = new IoErrorRecord(DateTime.UtcNow, queue, r.Type, r.Sector, r.DataBytes, r.Status, r.FailureDetail);
        lock (_recentLock)
        {
            _recent[_recentWritten % RecentErrorCapacity] = record;
            _recentWritten++;
        }
    }

    /// <summary>Reactor thread, error path only: remembers and reports a callback's exception; the batch goes on.</summary>
    public void RecordCallbackFault(long tag, Exception e)
    {
        _callbackFaults++;
        Interlocked.CompareExchange(ref _firstCallbackFault, e, null);
        Volatile.Write(ref _lastCallbackFault, e);
        try
        {
            callbackFaulted?.Invoke(queue, tag, e);
        }
        catch
        {
            // A logger that throws must not take the queue down either.
        }
    }

    /// <summary>Every failure since start, counted by status (only statuses that occurred). Any thread.</summary>
    public Dictionary<IoStatus, long> ErrorCounts()
    {
        var counts = new Dictionary<IoStatus, long>();
        for (int s = 0; s < _byStatus.Length; s++)
        {
            long n = Volatile.Read(ref _byStatus[s]);
            if (n != 0) counts[(IoStatus)s] = n;
        }
        return counts;
    }

    /// <summary>The last failed requests (at most <see cref="RecentErrorCapacity"/>), newest first. Any thread.</summary>
    public IoErrorRecord[] RecentErrors()
    {
        lock (_recentLock)
        {
            int n = (int)Math.Min(_recentWritten, RecentErrorCapacity);
            var result = new IoErrorRecord[n];
            for (int i = 0; i < n; i++) result[i] = _recent[(_recentWritten - 1 - i) % RecentErrorCapacity];
            return result;
        }
    }
}
