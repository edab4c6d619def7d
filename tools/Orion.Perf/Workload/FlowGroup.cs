namespace Orion.Perf.Workload;

/// <summary>
/// fio's token-based flow control (<c>flow</c>, <c>flow_id</c>; fio's flow.c): the workloads sharing a flow_id keep
/// their I/O counts in the ratio of their weights. Each counts the I/Os it issued, the group counts them all (from 1,
/// as fio); a workload whose share of the group's count is above its share of the group's weight holds back until
/// the others caught up. A workload leaves the group when it stops issuing, taking its weight and count with it, so
/// the jobs still running are never held back by one that ended. Shared by the reactors of one run: lock-free.
/// </summary>
internal sealed class FlowGroup
{
    private long _counter = 1;
    private long _totalWeight;

    /// <summary>A workload of weight <paramref name="weight"/> joins (before any I/O).</summary>
    public void Join(int weight) => Interlocked.Add(ref _totalWeight, weight);

    /// <summary>
    /// fio's flow_threshold_exceeded: whether a workload of <paramref name="weight"/> that issued
    /// <paramref name="own"/> I/Os is ahead of its share and must hold back; when it is not, its next I/O is counted
    /// here (the caller counts it in <paramref name="own"/>).
    /// </summary>
    public bool Exceeded(long own, int weight)
    {
        long total = Volatile.Read(ref _counter);
        long weights = Volatile.Read(ref _totalWeight);
        if (weights > 0 && (double)own / total > (double)weight / weights) return true;
        Interlocked.Increment(ref _counter);
        return false;
    }

    /// <summary>A workload that issued <paramref name="own"/> I/Os with <paramref name="weight"/> leaves (fio's flow_put).</summary>
    public void Leave(long own, int weight)
    {
        Interlocked.Add(ref _counter, -own);
        Interlocked.Add(ref _totalWeight, -weight);
    }

    /// <summary>The group's count (1 plus the I/Os of the workloads still in it).</summary>
    public long Counter => Volatile.Read(ref _counter);
}
