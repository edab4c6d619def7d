using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Backends.Rbd;
using Orion.Pmd.Engine;

namespace Orion.Pmd.Engine.Tests;

/// <summary>The one parser of device strings, used by the engine options and orion-perf's --device alike.</summary>
[TestFixture]
public class DeviceStringTests
{
    [TestCase("mem:1G", DeviceKind.Memory, 1L << 30, 512, false, false)]
    [TestCase("null:64G", DeviceKind.Null, 64L << 30, 512, false, false)]
    [TestCase("NULL:64g", DeviceKind.Null, 64L << 30, 512, false, false)]
    [TestCase("memory:512m", DeviceKind.Memory, 512L << 20, 512, false, false)]
    [TestCase("mem:1t", DeviceKind.Memory, 1L << 40, 512, false, false)]
    [TestCase(" mem:4k ", DeviceKind.Memory, 4096L, 512, false, false)]
    [TestCase("null:1G,bs=4096", DeviceKind.Null, 1L << 30, 4096, false, false)]
    [TestCase("mem:256M,ro,bs=4k", DeviceKind.Memory, 256L << 20, 4096, true, false)]
    [TestCase("mem:16M,readonly", DeviceKind.Memory, 16L << 20, 512, true, false)]
    [TestCase("mem:16M,prefill", DeviceKind.Memory, 16L << 20, 512, false, true)]
    [TestCase("mem:16M,PREFILL,bs=4096,ro", DeviceKind.Memory, 16L << 20, 4096, true, true)]
    public void Parses(string text, DeviceKind kind, long size, int blockSize, bool readOnly, bool prefill)
        => Assert.That(DeviceString.Parse(text), Is.EqualTo(new DeviceString(kind, size, blockSize, readOnly, prefill)));

    [TestCase("null:1G,delay=20us", 20.0)]
    [TestCase("null:1G,delay=20", 20.0)]
    [TestCase("null:1G,DELAY=1.5ms", 1500.0)]
    [TestCase("mem:16M,delay=0.5us,ro", 0.5)]
    [TestCase("null:1G,delay=1s", 1_000_000.0)]
    [TestCase("null:1G,delay=500ns", 0.5)]
    public void ParsesInjectedLatency(string text, double microseconds)
        => Assert.That(DeviceString.Parse(text).Delay, Is.EqualTo(TimeSpan.FromMicroseconds(microseconds)));

    [TestCase("null:1G,delay=")]
    [TestCase("null:1G,delay=0")]
    [TestCase("null:1G,delay=-5us")]
    [TestCase("null:1G,delay=2s")]
    [TestCase("null:1G,delay=fast")]
    [TestCase("null:1G,delay=5h")]
    public void RejectsBadInjectedLatency(string text)
    {
        Assert.That(DeviceString.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("not a valid injected latency").And.Contain("delay=20us"));
    }

    [Test]
    public void NoDelayUnlessAsked() => Assert.That(DeviceString.Parse("null:1G").Delay, Is.EqualTo(TimeSpan.Zero));

    [Test]
    [CancelAfter(30_000)]
    public void TheDelayReachesTheDevice()
    {
        using var engine = ManualEngine.Start("null:1M,delay=2ms");
        var dev = engine.Device;
        using var buffer = dev.Rent(512);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int i = 0; i < 3; i++) engine.Wait(dev.ReadAsync(i, buffer.Memory));
        Assert.That(System.Diagnostics.Stopwatch.GetElapsedTime(start), Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(6)));
    }

    [Test]
    public void TheDefaultBlockSizeIsVirtioBlksSector()
        => Assert.That(DeviceString.Parse("mem:1G").BlockSize, Is.EqualTo(DeviceString.DefaultBlockSize).And.EqualTo(512));

    [TestCase("mem:1G", "mem:1g")]
    [TestCase("NULL:64G", "null:64g")]
    [TestCase("null:1G,bs=4096", "null:1g,bs=4096")]
    [TestCase("mem:256M,ro,bs=4k", "mem:256m,bs=4096,ro")]
    [TestCase("mem:1G,bs=512", "mem:1g")]
    [TestCase("memory:1536k", "mem:1536k")]
    [TestCase("mem:1536,bs=512,prefill", "mem:1536,prefill")]
    [TestCase("null:1G,delay=1ms", "null:1g,delay=1000us")]
    [TestCase("null:1G,delay=2.5", "null:1g,delay=2.5us")]
    [TestCase("file:/tmp/x.img", "file:/tmp/x.img")]
    [TestCase("FILE:/tmp/X.img,DIRECT,Size=64M", "file:/tmp/X.img,size=64m,direct")]
    [TestCase("file:/tmp/x.img,ro,direct,bs=4k,delay=1ms", "file:/tmp/x.img,bs=4096,direct,ro,delay=1000us")]
    [TestCase("file:/srv/a:b/disk.img,size=1536k", "file:/srv/a:b/disk.img,size=1536k")]
    [TestCase("file:relative.img,size=1g,bs=512", "file:relative.img,size=1g")]
    [TestCase("vhost-user:/run/orion.sock", "vhost-user:/run/orion.sock")]
    [TestCase("VHOST:/run/orion.sock,readonly", "vhost-user:/run/orion.sock,ro")]
    public void ToStringIsCanonicalAndParsesBack(string text, string canonical)
    {
        var d = DeviceString.Parse(text);
        Assert.That(d.ToString(), Is.EqualTo(canonical));
        Assert.That(DeviceString.Parse(d.ToString()), Is.EqualTo(d));
    }

    [TestCase("mem:1G", "RAM disk, 1 GiB, 512-byte blocks")]
    [TestCase("null:64G,bs=4096,ro", "null device, 64 GiB, 4096-byte blocks, read-only")]
    [TestCase("mem:1536k,prefill", "RAM disk, 1.5 MiB, 512-byte blocks, prefilled")]
    [TestCase("mem:512", "RAM disk, 512 B, 512-byte blocks")]
    [TestCase("null:1G,delay=20us", "null device, 1 GiB, 512-byte blocks, 20us injected latency per request")]
    [TestCase("file:/tmp/x.img", "file /tmp/x.img, 512-byte blocks")]
    [TestCase("file:/tmp/x.img,size=64M,direct,bs=4096", "file /tmp/x.img (created or extended to 64 MiB), 4096-byte blocks, direct I/O")]
    [TestCase("file:/tmp/x.img,ro,delay=20us", "file /tmp/x.img, 512-byte blocks, read-only, 20us injected latency per request")]
    [TestCase("vhost-user:/run/orion.sock", "vhost-user device at /run/orion.sock")]
    [TestCase("vhost-user:/run/orion.sock,ro", "vhost-user device at /run/orion.sock, read-only")]
    public void DescribeIsForPeople(string text, string description)
        => Assert.That(DeviceString.Parse(text).Describe(), Is.EqualTo(description));

    [TestCase("", "empty device string")]
    [TestCase("   ", "empty device string")]
    [TestCase("disk:1G", "unknown device kind 'disk'")]
    [TestCase("1G", "missing the device kind")]
    [TestCase("mem", "missing the size")]
    [TestCase("mem:", "'' is not a device size")]
    [TestCase("mem:lots", "'lots' is not a device size")]
    [TestCase("mem:0", "'0' is not a device size")]
    [TestCase("null:1G,bs=1000", "'bs=1000' is not a valid logical block size")]
    [TestCase("null:1G,bs=128k", "'bs=128k' is not a valid logical block size")]
    [TestCase("null:1G,bs=256", "'bs=256' is not a valid logical block size")]
    [TestCase("null:1G,fast", "unknown device option 'fast'; valid options for null: devices are bs=SIZE, ro, delay=DURATION and fault=PLAN")]
    [TestCase("mem:1G,fast", "unknown device option 'fast'; valid options for mem: devices are bs=SIZE, ro, delay=DURATION, fault=PLAN and prefill")]
    [TestCase("null:1G,prefill", "'prefill' applies only to mem: devices")]
    [TestCase("mem:1000", "size 1000 is not a multiple of the 512-byte logical block size")]
    [TestCase("mem:6k,bs=4096", "size 6144 is not a multiple of the 4096-byte logical block size")]
    [TestCase("null:1G,direct", "'direct' applies only to file: devices")]
    [TestCase("mem:1G,size=2G", "'size=2G' applies only to file: devices; give a mem: device's size after the colon (for example mem:1G)")]
    [TestCase("file", "missing the path after file:")]
    [TestCase("file:", "missing the file path after file:")]
    [TestCase("file:,size=1G", "missing the file path after file:")]
    [TestCase("file:/tmp/a,b.img", "unknown device option 'b.img'; valid options for file: devices are size=SIZE, bs=SIZE, direct, io=auto|uring|sync, ro, delay=DURATION and fault=PLAN (a path cannot contain ',')")]
    [TestCase("file:/tmp/x.img,size=lots", "'size=lots' is not a device size")]
    [TestCase("file:/tmp/x.img,size=0", "'size=0' is not a device size")]
    [TestCase("file:/tmp/x.img,size=1000", "size 1000 is not a multiple of the 512-byte logical block size")]
    [TestCase("file:/tmp/x.img,size=6k,bs=4096", "size 6144 is not a multiple of the 4096-byte logical block size")]
    [TestCase("file:/tmp/x.img,size=1M,ro", "size= creates or extends the file, which a read-only (ro) device cannot do")]
    [TestCase("file:/tmp/x.img,prefill", "'prefill' applies only to mem: devices")]
    [TestCase("vhost-user", "missing the path after vhost-user:")]
    [TestCase("vhost-user:", "missing the socket path after vhost-user:")]
    [TestCase("vhost-user:/tmp/sock,bs=4096", "'bs=4096' does not apply to vhost-user devices: the device reports its own block size")]
    [TestCase("vhost-user:/tmp/sock,size=1G", "'size=1G' does not apply to vhost-user devices: the device reports its own capacity")]
    [TestCase("vhost-user:/tmp/sock,delay=20us", "'delay=20us' does not apply to vhost-user devices")]
    [TestCase("vhost-user:/tmp/sock,direct", "'direct' applies only to file: devices")]
    [TestCase("vhost-user:/tmp/a,b", "unknown device option 'b'; valid options for vhost-user: devices are ro (a path cannot contain ',')")]
    [TestCase("rbd:", "missing the POOL/IMAGE path after rbd:")]
    [TestCase("rbd:vm1", "'rbd:vm1' does not name an image: give rbd:POOL/IMAGE")]
    [TestCase("rbd:rbd/vm1@snap", "snapshots (@SNAP) are not served")]
    [TestCase("rbd:rbd/a/b", "does not name an image")]
    [TestCase("rbd:rbd/vm1,size=1G", "'size=1G' does not apply to rbd: devices: the image's size (rbd resize) is the capacity")]
    [TestCase("rbd:rbd/vm1,direct", "'direct' applies only to file: devices")]
    [TestCase("rbd:rbd/vm1,timeout=2m", "'timeout=2m' is not a request timeout; give whole seconds from 1 to 3600")]
    [TestCase("rbd:rbd/vm1,id=client.admin", "give the name without 'client.'")]
    [TestCase("rbd:rbd/vm1,conf=", "names no ceph.conf")]
    [TestCase("mem:1G,conf=/etc/ceph/ceph.conf", "'conf=/etc/ceph/ceph.conf' applies only to rbd: devices")]
    [TestCase("rbd:rbd/vm1,cache=unsafe", "'cache=unsafe' is not a cache mode; give cache=none, cache=writethrough or cache=writeback")]
    [TestCase("file:/tmp/x.img,cache=writeback", "'cache=writeback' applies only to rbd: devices")]
    public void ErrorsSayWhatIsWrong(string text, string fragment)
    {
        Assert.That(DeviceString.TryParse(text, out var device, out var error), Is.False);
        Assert.That(device, Is.Null);
        Assert.That(error, Does.Contain(fragment));
        Assert.That(error, Does.Not.Contain("--device"), "the engine is used from code too: the caller says where the text came from");
        Assert.That(() => DeviceString.Parse(text), Throws.TypeOf<FormatException>().With.Message.EqualTo(error));
    }

    [TestCase("disk:1G")]
    [TestCase("1G")]
    [TestCase("mem")]
    [TestCase("")]
    [TestCase("file:")]
    [TestCase("vhost-user")]
    public void ErrorsShowTheSyntax(string text)
    {
        DeviceString.TryParse(text, out _, out var error);
        Assert.That(error, Does.Contain("mem:SIZE or null:SIZE").And.Contain("file:PATH").And.Contain("vhost-user:PATH")
                               .And.Contain(",direct").And.Contain(",size=SIZE"));
    }

    [TestCase("file:/var/tmp/disk.img", "/var/tmp/disk.img", 0L, 512, false, false)]
    [TestCase("file:/var/tmp/disk.img,size=1G,direct", "/var/tmp/disk.img", 1L << 30, 512, false, true)]
    [TestCase("file:/dev/nvme0n1,direct,bs=4096", "/dev/nvme0n1", 0L, 4096, false, true)]
    [TestCase("file:/var/tmp/disk.img,ro", "/var/tmp/disk.img", 0L, 512, true, false)]
    [TestCase("file: /var/tmp/with space.img ", "/var/tmp/with space.img", 0L, 512, false, false)]
    [TestCase("file:C:/odd:but:fine", "C:/odd:but:fine", 0L, 512, false, false)]
    public void ParsesFileDevices(string text, string path, long size, int blockSize, bool readOnly, bool direct)
        => Assert.That(DeviceString.Parse(text),
                       Is.EqualTo(new DeviceString(DeviceKind.File, size, blockSize, readOnly, Path: path, Direct: direct)));

    [TestCase("rbd:rbd/vm1", "rbd/vm1", null, null, null)]
    [TestCase("rbd:pool/img,conf=/etc/ceph/c.conf,id=orion,timeout=45s", "pool/img", "/etc/ceph/c.conf", "orion", 45)]
    [TestCase("rbd:pool/img,timeout=0", "pool/img", null, null, 0)]
    public void ParsesRbdDevicesAndTheyRoundTrip(string text, string path, string? conf, string? id, int? timeoutSeconds)
    {
        var d = DeviceString.Parse(text);
        Assert.That(d, Is.EqualTo(new DeviceString(DeviceKind.Rbd, 0, DeviceString.DefaultBlockSize, false, Path: path, Conf: conf, ClientId: id,
            RequestTimeout: timeoutSeconds is int t ? TimeSpan.FromSeconds(t) : null)));
        Assert.That(DeviceString.Parse(d.ToString()), Is.EqualTo(d));
    }

    [TestCase("rbd:rbd/vm1", null, false)]
    [TestCase("rbd:rbd/vm1,cache=none", RbdCacheMode.None, false)]
    [TestCase("rbd:rbd/vm1,cache=writethrough", RbdCacheMode.WriteThrough, false)]
    [TestCase("rbd:rbd/vm1,CACHE=WriteBack", RbdCacheMode.WriteBack, true)]
    [TestCase("file:/var/tmp/disk.img", null, true)]
    public void TheRbdCacheModeDecidesTheDevicesWriteCache(string text, RbdCacheMode? cache, bool writeCache)
    {
        var d = DeviceString.Parse(text);
        Assert.That(d.Cache, Is.EqualTo(cache));
        Assert.That(d.WriteCache, Is.EqualTo(writeCache), "only a write-back librbd makes the device report a volatile cache");
        Assert.That(DeviceString.Parse(d.ToString()), Is.EqualTo(d));
    }

    [TestCase("vhost-user:/run/orion.sock", "/run/orion.sock", false)]
    [TestCase("vhost:/tmp/vhost.0,ro", "/tmp/vhost.0", true)]
    [TestCase("Vhost-User:rel/sock", "rel/sock", false)]
    public void ParsesVhostUserDevices(string text, string path, bool readOnly)
    {
        var d = DeviceString.Parse(text);
        Assert.That(d, Is.EqualTo(new DeviceString(DeviceKind.VhostUser, 0, DeviceString.DefaultBlockSize, readOnly, Path: path)));
        Assert.That(d.SizeBytes, Is.Zero, "the device reports its own capacity");
    }

    [Test]
    public void ASocketPathFitsSunPath()
    {
        string fits = "/tmp/" + new string('s', DeviceString.MaxSocketPathBytes - 5);
        Assert.That(DeviceString.Parse("vhost-user:" + fits).Path, Is.EqualTo(fits));
        Assert.That(DeviceString.TryParse("vhost-user:" + fits + "s", out _, out var error), Is.False);
        Assert.That(error, Does.Contain("108 bytes long").And.Contain("at most 107 bytes"));
        // Bytes, not characters: 54 two-byte characters are 108 bytes.
        Assert.That(DeviceString.TryParse("vhost-user:" + new string('é', 54), out _, out error), Is.False);
        Assert.That(error, Does.Contain("108 bytes long"));
        Assert.That(DeviceString.TryParse("file:" + fits + "s", out _, out _), Is.True, "a file path is not a socket path");
    }

    [Test]
    public void AVhostUserDeviceHasNoInProcessBackend()
        => Assert.That(() => DeviceString.Parse("vhost-user:/run/orion.sock").CreateBackend(),
                       Throws.InvalidOperationException.With.Message.Contains("a vhost-user device has no in-process backend"));

    [Test]
    public void OldPositionalConstructionStillMeansNoPath()
    {
        var d = new DeviceString(DeviceKind.Memory, 1L << 20, 512, false);
        Assert.That(d.Path, Is.Null);
        Assert.That(d.Direct, Is.False);
        Assert.That(d, Is.EqualTo(DeviceString.Parse("mem:1M")));
    }

    [Test]
    public void SizeErrorsShowWhatASizeLooksLike()
    {
        DeviceString.TryParse("mem:lots", out _, out var error);
        Assert.That(error, Does.Contain("k, m, g or t suffix"));
    }

    [Test]
    public void SuccessLeavesNoError()
    {
        Assert.That(DeviceString.TryParse("mem:1G", out var device, out var error), Is.True);
        Assert.That(device, Is.Not.Null);
        Assert.That(error, Is.Empty);
    }

    [Test]
    public void CreatesTheBackendItDescribes()
    {
        using var mem = DeviceString.Parse("mem:1M,prefill").CreateBackend();
        using var plain = DeviceString.Parse("mem:3M,bs=4096").CreateBackend();
        using var nul = DeviceString.Parse("null:2M").CreateBackend();
        Assert.That(mem, Is.TypeOf<MemoryBackend>());
        Assert.That(mem.Capacity, Is.EqualTo(1L << 20));
        Assert.That(((MemoryBackend)mem).Peek(0, 16).ToArray(), Is.All.Not.Zero, "prefilled pages hold a pattern");
        Assert.That(plain, Is.TypeOf<MemoryBackend>());
        Assert.That(plain.Capacity, Is.EqualTo(3L << 20));
        Assert.That(((MemoryBackend)plain).Peek(0, 16).ToArray(), Is.All.Zero, "without prefill the pages start empty");
        Assert.That(nul, Is.TypeOf<NullBackend>());
        Assert.That(nul.Capacity, Is.EqualTo(2L << 20));
    }

    [TestCase("mem:16M,fault=ioerr:every=3:type=write", "mem:16m,fault=ioerr:every=3:type=write")]
    [TestCase("null:1G,fault=ioerr:rate=1%:type=write;drop:every=1000:queue=0;garbage=id-range:at=500;seed=7",
              "null:1g,fault=ioerr:rate=1%:type=write;drop:every=1000:queue=0;garbage=id-range:at=500;seed=7")]
    [TestCase("file:/tmp/x.img,fault=stall=10ms:at=5,direct", "file:/tmp/x.img,direct,fault=stall=10ms:at=5")]
    public void FaultPlansParseAndRoundTrip(string text, string canonical)
    {
        var d = DeviceString.Parse(text);
        Assert.That(d.Faults, Is.Not.Null);
        Assert.That(d.ToString(), Is.EqualTo(canonical));
        Assert.That(DeviceString.Parse(d.ToString()), Is.EqualTo(d));
        Assert.That(d.Describe(), Does.Contain("injected faults"));
    }

    [Test]
    public void NoFaultOptionNoPlan() => Assert.That(DeviceString.Parse("mem:1G").Faults, Is.Null);

    [TestCase("vhost-user:/tmp/s.sock,fault=ioerr:at=1", "does not apply to vhost-user")]
    [TestCase("mem:1G,fault=ioerr:at=1,fault=drop:at=2", "given twice")]
    [TestCase("mem:1G,fault=ioerr", "has no trigger")]
    [TestCase("mem:1G,fault=", "empty fault plan")]
    [TestCase("mem:1G,fault=boom:at=1", "unknown fault kind 'boom'")]
    public void BadFaultOptionsSayWhy(string text, string expected)
    {
        Assert.That(DeviceString.TryParse(text, out _, out string error), Is.False);
        Assert.That(error, Does.Contain(expected));
    }
}
