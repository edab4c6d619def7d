using Orion.Perf;

namespace Orion.Perf.Tests.Logs;

/// <summary>
/// fio's zonemode=strided (zonesize, zonerange, zoneskip), seen through the offsets of a real run's latency log
/// (<c>--log_offset</c>): I/O stays in a zone until zonesize bytes went there, then moves zonerange + zoneskip on.
/// </summary>
[NonParallelizable]
public class StridedZoneCliTests : LogKit
{
    private List<long> Offsets(string prefix) => Fields(At(prefix + "_clat.1.log")).Select(f => long.Parse(f[4])).ToList();

    [Test]
    [CancelAfter(60_000)]
    public void SequentialIoReadsEachZoneThenSkips()
    {
        // 4 MiB in zones of 256k every 1 MiB: 16 zones, 4 I/Os of 64k each, in order (iodepth 1: the log is in issue order).
        string p = At("seq");
        var job = Jobs("--rw=read", "--bs=64k", "--zonemode=strided", "--zonesize=256k", "--zoneskip=768k", "--size=4M",
                       "--device=mem:32M", $"--write_lat_log={p}", "--log_offset=1")[0];
        Assert.That(Ios(job, "read"), Is.EqualTo(64));
        var offsets = Offsets("seq");
        Assert.That(offsets, Is.EqualTo(Enumerable.Range(0, 64).Select(i => (i / 4) * (1L << 20) + (i % 4) * 65536L)));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ZonesWrapToTheStartPastTheDevicesEnd()
    {
        string p = At("wrap");
        Jobs("--rw=read", "--bs=64k", "--zonesize=128k", "--zoneskip=2g", "--size=1M", "--device=mem:4M",
             $"--write_lat_log={p}", "--log_offset=1");
        var offsets = Offsets("wrap");
        Assert.That(offsets, Has.Count.EqualTo(16));
        Assert.That(offsets.Distinct().Order(), Is.EqualTo(new long[] { 0, 65536 }), "zonesize alone implies strided; the next zone is past the end, so it wraps");
    }

    [Test]
    [CancelAfter(60_000)]
    public void RandomIoStaysInTheZoneRange()
    {
        // zones of 256k every 1 MiB, 128k (two 64k I/Os) in each before moving on.
        string p = At("rand");
        Jobs("--rw=randread", "--bs=64k", "--zonemode=strided", "--zonesize=128k", "--zonerange=256k", "--zoneskip=768k",
             "--number_ios=64", "--device=mem:64M", $"--write_lat_log={p}", "--log_offset=1");
        var offsets = Offsets("rand");
        Assert.That(offsets, Has.Count.EqualTo(64));
        Assert.That(offsets.Where(o => o % (1 << 20) >= 256 * 1024), Is.Empty, "every offset within a zone's first 256k");
        for (int i = 0; i < 64; i++)
            Assert.That(offsets[i] / (1 << 20), Is.EqualTo(i / 2), $"I/O {i} in zone {i / 2}");
        for (int i = 0; i < 64; i += 2)
            Assert.That(offsets[i], Is.Not.EqualTo(offsets[i + 1]), "the random map gives each block of a zone once");
    }

    [TestCase("--zonemode=zbd", "--zonemode=zbd: Orion's devices are not zoned block devices")]
    [TestCase("--zonemode=none --zonesize=1m", "zonesize needs zonemode=strided")]
    [TestCase("--zonemode=strided", "--zonemode=strided: give --zonesize")]
    [TestCase("--zonesize=4k --bs=64k", "a zone must hold the largest block (64k)")]
    public void BadZoneOptionsAreRefused(string args, string fragment)
    {
        var stderr = new StringWriter();
        int code = PerfCommand.Run([.. args.Split(' '), "--device=mem:16M"], new StringWriter(), stderr);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain(fragment));
    }
}
