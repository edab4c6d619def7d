using Orion.Perf.Workload;
using Orion.Pmd.Engine.Requests;

namespace Orion.Perf.Tests.Workload;

/// <summary>The workload's bookkeeping of submissions and completions: a second completion of one I/O is caught, not taken for another's.</summary>
public class IoOutcomesTests
{
    [Test]
    public void EachSubmissionCompletesOnce()
    {
        var o = new IoOutcomes(slots: 4);
        long tag = o.NextTag(2);
        o.OnSubmitted(2);
        Assert.That(o.Outstanding, Is.EqualTo(1));
        Assert.That(o.TryComplete(tag, out int slot), Is.True);
        Assert.That(slot, Is.EqualTo(2));
        Assert.That(o.TryComplete(tag, out _), Is.False, "the same I/O again");
        Assert.That((o.Submitted, o.Completed, o.Doubled, o.Outstanding), Is.EqualTo((1L, 1L, 1L, 0L)));
    }

    [Test]
    public void ALateDuplicateIsNotTakenForTheSlotsNextIo()
    {
        var o = new IoOutcomes(slots: 1);
        long first = o.NextTag(0);
        o.OnSubmitted(0);
        Assert.That(o.TryComplete(first, out _), Is.True);
        long second = o.NextTag(0);
        o.OnSubmitted(0);
        Assert.That(second, Is.Not.EqualTo(first));
        Assert.That(o.TryComplete(first, out _), Is.False, "the first I/O's duplicate arrives while the slot's next I/O is in flight");
        Assert.That(o.TryComplete(second, out _), Is.True);
        Assert.That(o.Doubled, Is.EqualTo(1));
    }

    [Test]
    public void FailuresAreCountedByStatusAndTheFirstIsKept()
    {
        var o = new IoOutcomes(slots: 2);
        o.Fail(new FailedIo(IoDirection.Write, 4096, 4096, IoStatus.IoError, ReadBack: false));
        o.Fail(new FailedIo(IoDirection.Read, 0, 4096, IoStatus.TimedOut, ReadBack: false));
        o.Fail(new FailedIo(IoDirection.Read, 8192, 4096, IoStatus.IoError, ReadBack: true));
        Assert.That(o.Failed, Is.EqualTo(3));
        Assert.That(o.First, Is.EqualTo(new FailedIo(IoDirection.Write, 4096, 4096, IoStatus.IoError, false)));
        Assert.That(o.FailedByStatus(), Is.EquivalentTo(new[] { (IoStatus.IoError, 2L), (IoStatus.TimedOut, 1L) }));
    }
}
