using System.Diagnostics;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Transport;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// A randomized hostile device, a million times over: the software device answers requests with garbage used
/// elements of every kind the format allows (ids out of range, ids not in flight, lengths beyond the buffers, and
/// for packed rings wrap counters from the previous lap), chosen by a seeded PRNG. One request in flight at a time,
/// so every corrupted element is the next one the driver reads: each must be detected (one queue reset per garbage
/// element injected), nothing may crash or complete with data it did not get, and the queue must keep serving.
/// <c>ORION_HOSTILE_COMPLETIONS</c> changes the count.
/// </summary>
public class HostileDeviceMillionTests
{
    [TestCase(RingFormat.Split, "garbage=id-range:rate=30%;garbage=id-unused:rate=40%;garbage=length:rate=95%;seed=11")]
    [TestCase(RingFormat.Packed, "garbage=id-range:rate=25%;garbage=id-unused:rate=30%;garbage=length:rate=40%;garbage=wrap:rate=95%;seed=12")]
    [CancelAfter(600_000)]
    public void EveryCorruptedCompletionIsDetected(RingFormat ring, string plan)
    {
        long target = long.TryParse(Environment.GetEnvironmentVariable("ORION_HOSTILE_COMPLETIONS"), out long t) ? t : 1_000_000;
        using var engine = ManualEngine.Start($"null:16M,fault={plan}", queueSize: 16, tweak: o => o with { Ring = ring });
        var dev = engine.Device;
        var device = ((EmbeddedTransport)engine.Transport).Device;
        using var buf = dev.Rent(4096);
        var pair = engine.Pairs[0];
        long ok = 0, broken = 0;
        var sw = Stopwatch.StartNew();
        while (device.GetFaultCounters().Garbage < target)
        {
            var read = dev.ReadAsync(0, buf.Memory);
            while (!read.IsCompleted) engine.PollOnce();
            try
            {
                read.GetAwaiter().GetResult();
                ok++;
            }
            catch (BlockDeviceException e) when (e.Status == IoStatus.QueueBroken)
            {
                broken++;                                         // placed twice, garbage both times
            }
        }
        var injected = device.GetFaultCounters();
        var c = pair.Counters;
        string summary = $"{ring}: {injected.Garbage:N0} garbage elements ({injected}), {c.QueueResets:N0} queue resets, {c.DeviceResets:N0} device resets, " +
                         $"{ok:N0} reads ok, {broken:N0} failed after two placements, {sw.Elapsed.TotalSeconds:F1} s";
        TestContext.Out.WriteLine(summary);
        // A queue that keeps breaking escalates to a device reset: each detection is one queue reset or one device reset.
        Assert.That(c.QueueResets + c.DeviceResets, Is.EqualTo(injected.Garbage), "every corrupted completion detected, each exactly once: " + summary);
        Assert.That(ok, Is.GreaterThan(0), "clean completions (the plan's remaining few percent) still flow between resets: " + summary);
        Assert.That(pair.Ring.IsBroken, Is.False);
        Assert.That(c.Errors, Is.EqualTo(broken), summary);
    }
}
