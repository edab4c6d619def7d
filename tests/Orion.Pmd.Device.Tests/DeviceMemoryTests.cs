using System.Runtime.CompilerServices;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// The device reaches the driver's memory only through its own mapping of the memfds it was given, translating guest
/// addresses through its own region table; reset drops those mappings.
/// </summary>
public unsafe class DeviceMemoryTests
{
    private static MemoryBackend Backend(SoftBlkDevice device) => (MemoryBackend)device.Backend;

    [Test]
    public void TheDeviceMapsTheFdItself_WithoutTheDriversHostPointer()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions { PassHostPointer = false });
        var data = Payload.Pattern(4096, seed: 21);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Write(16, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Read(16, 4096).Data, Is.EqualTo(data));
        }
    }

    [Test]
    public void TheDeviceHoldsItsOwnMapping_AndResetUnmapsIt()
    {
        using var d = new MiniDriver(new SoftBlkDevice(new MemoryBackend(1 << 20), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual }));
        Assert.That(d.MappingCount(), Is.EqualTo(1), "only the driver's mapping");
        d.Initialize();
        Assert.That(d.MappingCount(), Is.EqualTo(2), "the device mapped the memfd itself");
        Assert.That(d.RegisterMemory, Throws.InvalidOperationException, "not while running");

        d.Device.SetStatus(DeviceStatus.Reset);
        Assert.That(d.MappingCount(), Is.EqualTo(1), "reset unmapped the device's view");

        Assert.That(d.Negotiate(), Is.True);
        d.RegisterMemory();
        d.RegisterMemory();
        Assert.That(d.MappingCount(), Is.EqualTo(2), "a new memory table replaces the old mappings");
    }

    [Test]
    public void BytesWrittenThroughTheDriversPointer_AreWhatTheDeviceReads_AndViceVersa()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions { GuestBase = 0x7_0000_0000 });
        byte* p = d.Memory.Pointer;
        const int headerAt = 1 << 20, dataAt = headerAt + 4096, statusAt = dataAt + 8192;
        ulong guest = d.GuestBase;

        // OUT: header and data written with raw stores through the driver's pointer
        *(BlkRequestHeader*)(p + headerAt) = new BlkRequestHeader(BlkRequestType.Out, 24);
        for (int i = 0; i < 8192; i++) p[dataAt + i] = (byte)(i * 13 + 1);
        p[statusAt] = 0xFF;
        int id = d.AddRaw(0, [
            new BufferSegment(guest + headerAt, 16, false),
            new BufferSegment(guest + dataAt, 8192, false),
            new BufferSegment(guest + statusAt, 1, true),
        ]);
        d.Publish(0);
        Assert.That(d.Wait(d.Track(0, id, guest + statusAt, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        var stored = Backend(d.Device).Peek(24 * 512, 8192).ToArray();
        Assert.That(stored.Select((b, i) => b == (byte)(i * 13 + 1)), Is.All.True, "the device read the driver's bytes");

        // IN: the device's stores show up behind the driver's pointer
        new Span<byte>(p + dataAt, 8192).Clear();
        *(BlkRequestHeader*)(p + headerAt) = new BlkRequestHeader(BlkRequestType.In, 24);
        p[statusAt] = 0xFF;
        id = d.AddRaw(0, [
            new BufferSegment(guest + headerAt, 16, false),
            new BufferSegment(guest + dataAt, 8192, true),
            new BufferSegment(guest + statusAt, 1, true),
        ]);
        d.Publish(0);
        d.Wait(d.Track(0, id, guest + statusAt, 0));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(p[statusAt], Is.EqualTo((byte)BlkStatus.Ok));
            Assert.That(new ReadOnlySpan<byte>(p + dataAt, 8192).SequenceEqual(stored), Is.True);
        }
    }

    [Test]
    public void AfterReset_TheDeviceIsInert()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20));
        Assert.That(d.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        d.Device.Reset();
        var p = d.Submit(0, new BlkRequestHeader(BlkRequestType.Out, 0), Payload.Pattern(512));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Status, Is.EqualTo(DeviceStatus.Reset));
            Assert.That(d.Device.Poll(), Is.Zero);
            Assert.That(d.Host(p.StatusGuest, 1)[0], Is.EqualTo(Payload.UntouchedStatus));
            Assert.That(Backend(d.Device).Peek(0, 512).ContainsAnyExcept((byte)0), Is.False);
            Assert.That(d.MappingCount(), Is.EqualTo(1));
        }
    }

    [Test]
    public void TwoTableEntries_FromOneFd_AtAnOffset_AreTranslatedSeparately()
    {
        const long split = 4 << 20;
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions { SplitRegionAt = split, PassHostPointer = false });
        Assert.That(d.MappingCount(), Is.EqualTo(3), "the driver's mapping and one per table entry");
        d.Allocate((int)(split - d.RingOffset(1)) - 4096);   // move the allocator to the end of the first entry
        var results = new List<(Completion Done, byte[] Data)>();
        for (int i = 0; i < 6; i++)                            // these straddle into the second entry
        {
            var data = Payload.Pattern(4096, seed: 30 + i);
            Assert.That(d.Write((ulong)i * 8, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            results.Add((d.Read((ulong)i * 8, 4096), data));
        }
        using (Assert.EnterMultipleScope())
        {
            foreach (var (done, data) in results)
            {
                Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
                Assert.That(done.Data, Is.EqualTo(data));
            }
        }
    }

    [Test]
    public void ABufferSpanningTwoTableEntries_BreaksTheQueue()
    {
        const long split = 4 << 20;
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions { SplitRegionAt = split });
        ulong header = d.Allocate(16);
        Unsafe.WriteUnaligned(ref d.Host(header, 16)[0], new BlkRequestHeader(BlkRequestType.In, 0));
        d.AddRaw(0, [new BufferSegment(header, 16, false), new BufferSegment(d.GuestBase + split - 256, 513, true)]);
        d.Publish(0);
        d.Device.Poll();
        Assert.That(d.BrokenEvents.Single().Error, Is.EqualTo(VirtqueueError.AddressOutOfRange),
            "contiguous in the memfd, but a buffer must lie inside one table entry");
    }

    [Test]
    public void AMemoryTableEntryWithoutAnFd_IsRejected()
    {
        using var device = new SoftBlkDevice(new NullBackend(1 << 20));
        Assert.That(() => device.SetMemoryTable([new MemoryRegion(0x1000, 4096, 0x1000)]), Throws.ArgumentException);
    }
}
