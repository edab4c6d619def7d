namespace Orion.Perf.Verify;

/// <summary>
/// fio's <c>verify_backlog</c>: the writes that completed since their last check, oldest first. Once
/// <c>verify_backlog</c> of them are waiting, the workload reads back <c>verify_backlog_batch</c> (by default all of
/// them) before it writes on, as fio does, so a lost or corrupted write shows up while the job still writes rather than
/// at its end. Counts I/Os, as fio's io history does. Reactor thread only; allocation-free after construction.
/// </summary>
internal sealed class VerifyBacklog
{
    /// <summary>The largest verify_backlog accepted (16 bytes of state each).</summary>
    public const long MaxBacklog = 1 << 20;

    private readonly long[] _lba;
    private readonly int[] _blocks;
    private readonly int _mask;
    private readonly int _backlog, _batch;
    private int _head, _count, _due;

    /// <param name="backlog">Written I/Os after which a check is due (fio verify_backlog).</param>
    /// <param name="batch">I/Os checked each time (fio verify_backlog_batch); 0 for <paramref name="backlog"/>.</param>
    /// <param name="depth">The most writes in flight, which may complete while a check is being issued.</param>
    public VerifyBacklog(long backlog, long batch, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(backlog, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(backlog, MaxBacklog);
        _backlog = (int)backlog;
        _batch = batch is > 0 && batch < backlog ? (int)batch : (int)backlog;
        int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(_backlog + depth + 1));
        _lba = new long[capacity];
        _blocks = new int[capacity];
        _mask = capacity - 1;
    }

    /// <summary>Writes waiting for their check.</summary>
    public int Waiting => _count;

    /// <summary>Whether the next I/O should be a check (a batch is under way).</summary>
    public bool Due => _due > 0 && _count > 0;

    /// <summary>A write of <paramref name="blocks"/> device blocks at <paramref name="lba"/> completed well: it waits for its check.</summary>
    public void WriteCompleted(long lba, int blocks)
    {
        if (_count == _lba.Length)          // cannot happen within backlog + depth; keep the newest rather than fail
        {
            _head = (_head + 1) & _mask;
            _count--;
        }
        int at = (_head + _count) & _mask;
        _lba[at] = lba;
        _blocks[at] = blocks;
        _count++;
        if (_due == 0 && _count >= _backlog) _due = _batch;
    }

    /// <summary>The oldest waiting write, to be read back and checked now; false when no check is due.</summary>
    public bool TryTake(out long lba, out int blocks)
    {
        lba = 0;
        blocks = 0;
        if (!Due) return false;
        lba = _lba[_head];
        blocks = _blocks[_head];
        _head = (_head + 1) & _mask;
        _count--;
        _due--;
        return true;
    }

    /// <summary>Puts back the write <see cref="TryTake"/> gave when its read could not be submitted: it goes first next time.</summary>
    public void Untake(long lba, int blocks)
    {
        _head = (_head - 1) & _mask;
        _lba[_head] = lba;
        _blocks[_head] = blocks;
        _count++;
        _due++;
    }
}
