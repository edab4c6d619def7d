using Orion.Pmd.Device.Faults;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests.Faults;

/// <summary>The fault-plan grammar: what parses, what it means, what is refused and why, and round trips.</summary>
public class FaultPlanGrammarTests
{
    [Test]
    public void TheIssueExampleParses()
    {
        var plan = FaultPlan.Parse("ioerr:rate=1%:type=write;drop:every=1000:queue=0;garbage=id-range:at=500");
        Assert.That(plan.Rules, Has.Count.EqualTo(3));
        Assert.That(plan.Rules[0], Is.EqualTo(new FaultRule { Kind = FaultKind.IoError, RatePercent = 1, Type = BlkRequestType.Out }));
        Assert.That(plan.Rules[1], Is.EqualTo(new FaultRule { Kind = FaultKind.Drop, Every = 1000, Queue = 0 }));
        Assert.That(plan.Rules[2], Is.EqualTo(new FaultRule { Kind = FaultKind.Garbage, Garbage = GarbageKind.IdRange, At = 500 }));
        Assert.That(plan.Seed, Is.EqualTo(FaultPlan.DefaultSeed));
    }

    [TestCase("delay=50us:every=10", FaultKind.Delay, 50)]
    [TestCase("delay:50us:every=10", FaultKind.Delay, 50)]
    [TestCase("stall=10ms:at=3", FaultKind.Stall, 10_000)]
    [TestCase("stall=2s:at=3", FaultKind.Stall, 2_000_000)]
    [TestCase("delay=20:every=1", FaultKind.Delay, 20)]
    public void DurationsParse(string text, FaultKind kind, double micros)
    {
        var rule = FaultPlan.Parse(text).Rules.Single();
        Assert.That(rule.Kind, Is.EqualTo(kind));
        Assert.That(rule.Duration, Is.EqualTo(TimeSpan.FromMicroseconds(micros)));
    }

    [TestCase("rate=0.5%", 0.5)]
    [TestCase("rate=100%", 100)]
    [TestCase("rate=0.01", 1)]
    public void RatesParse(string field, double percent)
        => Assert.That(FaultPlan.Parse($"ioerr:{field}").Rules[0].RatePercent, Is.EqualTo(percent));

    [TestCase("id-range", GarbageKind.IdRange)]
    [TestCase("id-unused", GarbageKind.IdUnused)]
    [TestCase("id-duplicate", GarbageKind.IdDuplicate)]
    [TestCase("length", GarbageKind.Length)]
    [TestCase("wrap", GarbageKind.Wrap)]
    public void GarbageKindsParse(string name, GarbageKind kind)
    {
        Assert.That(FaultPlan.Parse($"garbage={name}:at=1").Rules[0].Garbage, Is.EqualTo(kind));
        Assert.That(FaultPlan.Parse($"garbage:{name}:at=1").Rules[0].Garbage, Is.EqualTo(kind));
    }

    [TestCase("read", BlkRequestType.In)]
    [TestCase("write", BlkRequestType.Out)]
    [TestCase("flush", BlkRequestType.Flush)]
    [TestCase("discard", BlkRequestType.Discard)]
    [TestCase("write-zeroes", BlkRequestType.WriteZeroes)]
    [TestCase("get-id", BlkRequestType.GetId)]
    public void TypesParse(string name, BlkRequestType type)
        => Assert.That(FaultPlan.Parse($"unsupp:every=2:type={name}").Rules[0].Type, Is.EqualTo(type));

    [TestCase("ioerr:rate=1%:type=write;drop:every=1000:queue=0;garbage=id-range:at=500")]
    [TestCase("unsupp:every=3:queue=2:type=flush;seed=42")]
    [TestCase("delay=1500us:rate=0.25%;stall=10ms:at=7;needs-reset:at=100;garbage=wrap:every=9:type=read")]
    [TestCase("delay=100ns:every=1;garbage=id-unused:at=1;garbage=id-duplicate:at=2;garbage=length:at=3")]
    public void CanonicalTextRoundTrips(string text)
    {
        var plan = FaultPlan.Parse(text);
        Assert.That(plan.ToString(), Is.EqualTo(text));
        Assert.That(FaultPlan.Parse(plan.ToString()), Is.EqualTo(plan));
    }

    [Test]
    public void OtherSpellingsFormatCanonically()
    {
        var plan = FaultPlan.Parse(" delay:1000us : every=5 ; seed=1 ");
        Assert.That(plan.ToString(), Is.EqualTo("delay=1ms:every=5"));
        Assert.That(FaultPlan.Parse(plan.ToString()), Is.EqualTo(plan));
    }

    [TestCase("", "empty fault plan")]
    [TestCase("boom:at=1", "unknown fault kind 'boom'")]
    [TestCase("ioerr", "has no trigger")]
    [TestCase("ioerr:at=1:every=2", "2 triggers")]
    [TestCase("ioerr:rate=0%", "not a valid rate")]
    [TestCase("ioerr:rate=150%", "not a valid rate")]
    [TestCase("ioerr:every=0", "every=N with N >= 1")]
    [TestCase("ioerr:at=-1", "at=N with N >= 1")]
    [TestCase("ioerr:at=1:queue=x", "queue=N")]
    [TestCase("ioerr:at=1:type=trim", "read, write, flush, discard, write-zeroes or get-id")]
    [TestCase("ioerr:at=1:color=red", "unknown field 'color=red'")]
    [TestCase("ioerr=5:at=1", "takes no argument")]
    [TestCase("delay:every=1", "needs an argument")]
    [TestCase("delay=0us:every=1", "not a valid duration")]
    [TestCase("stall=2min:at=1", "not a valid duration")]
    [TestCase("garbage=bits:at=1", "unknown garbage kind 'bits'")]
    [TestCase("ioerr:at=1;;drop:at=2", "empty rule")]
    [TestCase("seed=7", "no rule")]
    [TestCase("ioerr:at=1;seed=x", "not a valid seed")]
    public void BadPlansSayWhatIsWrongAndWhatWouldBeRight(string text, string expected)
    {
        Assert.That(FaultPlan.TryParse(text, out _, out string error), Is.False);
        Assert.That(error, Does.Contain(expected));
        Assert.That(() => FaultPlan.Parse(text), Throws.TypeOf<FormatException>().With.Message.EqualTo(error));
    }

    [Test]
    public void RulesBuiltInCodeAreValidated()
    {
        Assert.That(() => new FaultPlan([new FaultRule { Kind = FaultKind.IoError }]), Throws.ArgumentException.With.Message.Contain("trigger"));
        Assert.That(() => new FaultPlan([new FaultRule { Kind = FaultKind.Delay, Every = 1 }]), Throws.ArgumentException.With.Message.Contain("duration"));
        Assert.That(() => new FaultPlan([]), Throws.ArgumentException);
    }
}
