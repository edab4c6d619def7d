using Orion.Pmd.Linux;

namespace Orion.Pmd.Engine.Tests;

/// <summary>Where reactors go: CPUs preferred for them (those that take the disk's interrupts) come first, cores the owner named win.</summary>
public class CorePlanTests
{
    [Test]
    public void PreferredCpusAreTakenFirstForTheReactors_TheRestForDeviceThreads()
    {
        var allowed = CpuAffinity.GetAllowedCpus();
        if (allowed.Length < 2) Assert.Ignore("needs two allowed CPUs");
        int last = allowed[^1];
        var plan = CorePlan.Make(new EngineOptions { Queues = 1 }, deviceThreads: 1, preferredReactorCpus: [last]);
        Assert.That(plan.Pinned, Is.True);
        Assert.That(plan.Reactors, Is.EqualTo(new int?[] { last }), "the reactor takes the preferred CPU");
        Assert.That(plan.Device, Does.Not.Contain(last), "the device thread keeps off the reactor's CPU");

        var plain = CorePlan.Make(new EngineOptions { Queues = 1 }, deviceThreads: 1);
        Assert.That(plain.Reactors, Is.EqualTo(new int?[] { allowed[0] }), "no preference: the first allowed CPU");

        var outside = CorePlan.Make(new EngineOptions { Queues = 1 }, deviceThreads: 0, preferredReactorCpus: [100_000]);
        Assert.That(outside.Reactors, Is.EqualTo(new int?[] { allowed[0] }), "a preferred CPU outside the allowed set is ignored");

        var named = CorePlan.Make(new EngineOptions { Queues = 1, ReactorCores = [allowed[0]] }, deviceThreads: 0, preferredReactorCpus: [last]);
        Assert.That(named.Reactors, Is.EqualTo(new int?[] { allowed[0] }), "cores the owner named win");
    }
}
