using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Volumes;

namespace Orion.Pmd.Engine.Tests.Volumes;

/// <summary><see cref="BlockVolume"/>: LBA ranges of a device with their own access, checked before the device sees anything.</summary>
[NonParallelizable]
public class BlockVolumeTests
{
    private static byte[] Pattern(int length, byte seed)
    {
        var b = new byte[length];
        for (int i = 0; i < b.Length; i++) b[i] = (byte)(seed + i * 7);
        return b;
    }

    [Test]
    [CancelAfter(30_000)]
    public void VolumeLbasAreTranslatedByItsOffset()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        var vol = dev.CreateVolume("tenant-a", firstLba: 100, blocks: 16, VolumeAccess.ReadWrite);
        Assert.That(vol.BlockCount, Is.EqualTo(16));
        Assert.That(vol.BlockSize, Is.EqualTo(dev.BlockSize));
        Assert.That(vol.ReadOnly, Is.False);
        Assert.That(dev.Volumes, Is.EqualTo(new[] { vol }));

        int bs = dev.BlockSize;
        var data = Pattern(2 * bs, 3);
        engine.Wait(vol.WriteAsync(3, data));

        var viaDevice = new byte[2 * bs];
        engine.Wait(dev.ReadAsync(103, viaDevice));
        Assert.That(viaDevice, Is.EqualTo(data), "volume LBA 3 is device LBA 103");

        using var dma = vol.Rent(2 * bs);
        engine.Wait(vol.ReadAsync(3, dma.Memory));
        Assert.That(dma.Span.ToArray(), Is.EqualTo(data));

        // Vectored, write-zeroes and discard go through the same translation.
        using var a = vol.Rent(bs);
        using var b = vol.Rent(bs);
        a.Span.Fill(0xAA);
        b.Span.Fill(0xBB);
        engine.Wait(vol.WriteVectoredAsync(14, new ReadOnlyMemory<byte>[] { a.Memory, b.Memory }));
        var last = new byte[2 * bs];
        engine.Wait(dev.ReadAsync(114, last));
        Assert.That(last.AsSpan(0, bs).ToArray(), Is.All.EqualTo(0xAA));
        Assert.That(last.AsSpan(bs).ToArray(), Is.All.EqualTo(0xBB));

        engine.Wait(vol.WriteZeroesAsync(3, 1));
        engine.Wait(dev.ReadAsync(103, viaDevice));
        Assert.That(viaDevice.AsSpan(0, bs).ToArray(), Is.All.Zero);
        Assert.That(viaDevice.AsSpan(bs).ToArray(), Is.EqualTo(data.AsSpan(bs).ToArray()), "only one block was zeroed");

        engine.Wait(vol.DiscardAsync(4, 1));
        engine.Wait(vol.FlushAsync());
        engine.Wait(vol.ReadVectoredAsync(14, new Memory<byte>[] { a.Memory, b.Memory }));
        Assert.That(a.Span.ToArray(), Is.All.EqualTo(0xAA));
    }

    [Test]
    [CancelAfter(30_000)]
    public void OutOfRangeIsRefusedBeforeTheDevice()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        var vol = dev.CreateVolume("tenant-a", 64, 8, VolumeAccess.ReadWrite);
        engine.RunUntil(() => false, 10);
        long before = dev.GetQueue(0).Counters.Requests;
        int bs = dev.BlockSize;

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = vol.WriteAsync(7, new byte[2 * bs]))!;
        Assert.That(e.Message, Does.Contain("tenant-a").And.Contain("volume LBA 0 to 7").And.Contain("device LBA 64 to 71")
                                  .And.Contain("fits at LBA 0 to 6"));
        Assert.That(() => vol.ReadAsync(8, new byte[bs]), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => vol.ReadAsync(-1, new byte[bs]), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => vol.ReadAsync(0, new byte[9 * bs]), Throws.InstanceOf<ArgumentOutOfRangeException>()
                        .With.Message.Contains("at most 8 blocks"));
        Assert.That(() => vol.DiscardAsync(6, 3), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => vol.WriteZeroesAsync(long.MaxValue, 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => vol.ReadAsync(0, new byte[bs / 2]), Throws.ArgumentException, "lengths are checked as on the device");

        engine.RunUntil(() => false, 10);
        Assert.That(dev.GetQueue(0).Counters.Requests, Is.EqualTo(before), "nothing reached the device");
        Assert.That(engine.Outstanding, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public void ReadOnlyVolumeRefusesEveryChangeBeforeTheDevice()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        int bs = dev.BlockSize;
        var original = Pattern(4 * bs, 9);
        engine.Wait(dev.WriteAsync(32, original));
        var vol = dev.CreateVolume("reader", 32, 4, VolumeAccess.ReadOnly);
        Assert.That(vol.ReadOnly, Is.True);
        engine.RunUntil(() => false, 10);
        long before = dev.GetQueue(0).Counters.Requests;

        using var dma = vol.Rent(bs);
        var denied = Assert.Throws<VolumeAccessDeniedException>(() => _ = vol.WriteAsync(1, new byte[bs]))!;
        Assert.That(denied, Is.InstanceOf<UnauthorizedAccessException>());
        Assert.That(denied.Volume, Is.EqualTo("reader"));
        Assert.That(denied.Operation, Is.EqualTo("write"));
        Assert.That(denied.Lba, Is.EqualTo(1));
        Assert.That(denied.Blocks, Is.EqualTo(1));
        Assert.That(denied.Message, Does.Contain("reader").And.Contain("read-only"));
        Assert.That(() => vol.WriteVectoredAsync(0, new ReadOnlyMemory<byte>[] { dma.Memory }), Throws.TypeOf<VolumeAccessDeniedException>());
        Assert.That(() => vol.DiscardAsync(0, 1), Throws.TypeOf<VolumeAccessDeniedException>());
        Assert.That(() => vol.WriteZeroesAsync(0, 4), Throws.TypeOf<VolumeAccessDeniedException>());
        Assert.That(() => vol.WriteAsync(100, new byte[bs]), Throws.TypeOf<VolumeAccessDeniedException>(), "permission before range");

        engine.RunUntil(() => false, 10);
        Assert.That(dev.GetQueue(0).Counters.Requests, Is.EqualTo(before), "nothing reached the device");
        Assert.That(engine.Outstanding, Is.Zero);

        // Reads and flushes are allowed; the data is untouched.
        var back = new byte[4 * bs];
        engine.Wait(vol.ReadAsync(0, back));
        Assert.That(back, Is.EqualTo(original));
        engine.Wait(vol.FlushAsync());
    }

    [Test]
    public void OverlapsDuplicatesAndRangesOutsideTheDeviceAreRefused()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        var a = dev.CreateVolume("a", 0, 100, VolumeAccess.ReadWrite);
        var e = Assert.Throws<InvalidOperationException>(() => dev.CreateVolume("b", 99, 10, VolumeAccess.ReadOnly))!;
        Assert.That(e.Message, Does.Contain("'b'").And.Contain("overlap").And.Contain("'a'"));
        Assert.That(() => dev.CreateVolume("b", 50, 10, VolumeAccess.ReadOnly), Throws.InvalidOperationException, "inside another");
        Assert.That(() => dev.CreateVolume("a", 200, 10, VolumeAccess.ReadOnly), Throws.InvalidOperationException.With.Message.Contains("already exists"));
        Assert.That(() => dev.CreateVolume("c", dev.BlockCount - 5, 6, VolumeAccess.ReadWrite), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => dev.CreateVolume("c", -1, 6, VolumeAccess.ReadWrite), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => dev.CreateVolume("c", 0, 0, VolumeAccess.ReadWrite), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => dev.CreateVolume(" ", 500, 1, VolumeAccess.ReadWrite), Throws.ArgumentException);

        var b = dev.CreateVolume("b", 100, 10, VolumeAccess.ReadOnly);        // adjacent is fine
        var last = dev.CreateVolume("last", dev.BlockCount - 1, 1, VolumeAccess.ReadWrite);
        Assert.That(dev.Volumes, Is.EqualTo(new[] { a, b, last }));
        Assert.That(dev.GetVolume("b"), Is.SameAs(b));

        Assert.That(dev.RemoveVolume("a"), Is.True);
        Assert.That(dev.RemoveVolume("a"), Is.False);
        Assert.That(a.IsRemoved, Is.True);
        Assert.That(() => a.ReadAsync(0, new byte[dev.BlockSize]), Throws.InstanceOf<ObjectDisposedException>());
        var again = dev.CreateVolume("a2", 0, 100, VolumeAccess.ReadOnly);     // its blocks may be carved again
        Assert.That(dev.Volumes, Is.EqualTo(new[] { b, last, again }));
    }

    [Test]
    [CancelAfter(30_000)]
    public void VolumesRespectAReadOnlyDevice()
    {
        using var engine = ManualEngine.Start("mem:16M,ro");
        var dev = engine.Device;
        Assert.That(() => dev.CreateVolume("rw", 0, 8, VolumeAccess.ReadWrite), Throws.InvalidOperationException.With.Message.Contains("read-only"));
        var vol = dev.CreateVolume("ro", 0, 8, VolumeAccess.ReadOnly);
        Assert.That(vol.ReadOnly, Is.True);
        Assert.That(() => vol.WriteAsync(0, new byte[dev.BlockSize]), Throws.InstanceOf<Exception>().With.Message.Contains("read-only"));
        engine.Wait(vol.ReadAsync(0, new byte[dev.BlockSize]));
    }

    [Test]
    [CancelAfter(60_000)]
    public void CallbackFormIsRestrictedToTheVolume()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", QueueSize = 32, Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        var rw = dev.CreateVolume("rw", 1000, 8, VolumeAccess.ReadWrite).GetQueue(0);
        var ro = dev.CreateVolume("ro", 2000, 8, VolumeAccess.ReadOnly).GetQueue(0);
        int bs = dev.BlockSize;
        using var buf = dev.Rent(bs);
        buf.Span.Fill(0x5A);

        var done = new RecordingCompletion();
        var (ok, error) = ReactorKit.OnReactor(rw.Queue, () => rw.TrySubmitWrite(2, buf, 0, bs, done, 7));
        Assert.That(error, Is.Null);
        Assert.That(ok, Is.True);
        Assert.That(done.Signal.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(done.Status, Is.EqualTo(IoStatus.Ok));
        var back = new byte[bs];
        dev.ReadAsync(1002, back).AsTask().Wait(TimeSpan.FromSeconds(10));
        Assert.That(back, Is.All.EqualTo(0x5A), "volume LBA 2 is device LBA 1002");

        long before = rw.Counters.Requests;
        Assert.That(ReactorKit.OnReactor(ro.Queue, () => ro.TrySubmitWrite(0, buf, 0, bs, done, 0)).Error, Is.TypeOf<VolumeAccessDeniedException>());
        Assert.That(ReactorKit.OnReactor(ro.Queue, () => ro.TrySubmitDiscard(0, 1, done, 0)).Error, Is.TypeOf<VolumeAccessDeniedException>());
        Assert.That(ReactorKit.OnReactor(rw.Queue, () => rw.TrySubmitRead(8, buf, 0, bs, done, 0)).Error, Is.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(ReactorKit.OnReactor(rw.Queue, () => rw.TrySubmitDiscard(7, 2, done, 0)).Error, Is.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(rw.Counters.Requests, Is.EqualTo(before));
        Assert.That(engine.Outstanding, Is.Zero);
    }
}
