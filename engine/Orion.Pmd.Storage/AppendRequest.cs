using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Orion.Pmd.Storage;

/// <summary>
/// One waiting append: the caller's record and the completion it awaits. Pooled (a <see cref="ValueTask{T}"/> source
/// reset and returned once its result is read), so an append allocates nothing in the steady state.
/// </summary>
internal sealed class AppendRequest : IValueTaskSource<long>
{
    private ManualResetValueTaskSourceCore<long> _core = new() { RunContinuationsAsynchronously = true };
    private ConcurrentQueue<AppendRequest>? _pool;

    public ReadOnlyMemory<byte> Record;

    public static AppendRequest Rent(ConcurrentQueue<AppendRequest> pool, ReadOnlyMemory<byte> record)
    {
        if (!pool.TryDequeue(out var r)) r = new AppendRequest();
        r._pool = pool;
        r.Record = record;
        return r;
    }

    public ValueTask<long> AsValueTask() => new(this, _core.Version);

    public void Complete(long lsn) => _core.SetResult(lsn);

    public void Fail(Exception error) => _core.SetException(error);

    public long GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Record = default;
            _core.Reset();
            _pool?.Enqueue(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
