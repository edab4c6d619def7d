using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// Device validation at initialization: a device whose configuration values overflow or contradict each other (or
/// the features that give them meaning) is refused before any queue starts, with the field named.
/// </summary>
public class DeviceValidationTests
{
    private static readonly Dictionary<string, Func<BlkConfig, BlkConfig>> Patches = new()
    {
        ["capacity-not-whole-blocks"] = c => c with { BlockSize = 4096, Capacity = 32768 + 3 },
        ["num-queues-zero"] = c => c with { NumQueues = 0 },
        ["seg-max-zero"] = c => c with { SegMax = 0 },
        ["physical-exp-huge"] = c => c with { PhysicalBlockExp = 30 },
        ["alignment-beyond-physical"] = c => c with { PhysicalBlockExp = 3, AlignmentOffset = 8 },
        ["opt-io-overflows"] = c => c with { OptIoSize = uint.MaxValue },
        ["opt-io-not-multiple-of-min"] = c => c with { MinIoSize = 8, OptIoSize = 12 },
        ["discard-seg-zero"] = c => c with { MaxDiscardSeg = 0 },
        ["discard-sectors-below-block"] = c => c with { BlockSize = 4096, MaxDiscardSectors = 4, DiscardSectorAlignment = 8 },
        ["discard-alignment-not-block"] = c => c with { BlockSize = 4096, DiscardSectorAlignment = 3 },
        ["write-zeroes-seg-zero"] = c => c with { MaxWriteZeroesSeg = 0 },
        ["write-zeroes-sectors-zero"] = c => c with { MaxWriteZeroesSectors = 0 },
        ["block-size-not-power-of-two"] = c => c with { BlockSize = 3000 },
        ["capacity-overflows"] = c => c with { Capacity = ulong.MaxValue / 2 },
    };

    [TestCase("capacity-not-whole-blocks", "capacity")]
    [TestCase("num-queues-zero", "num_queues")]
    [TestCase("seg-max-zero", "seg_max")]
    [TestCase("physical-exp-huge", "physical_block_exp")]
    [TestCase("alignment-beyond-physical", "alignment_offset")]
    [TestCase("opt-io-overflows", "opt_io_size")]
    [TestCase("opt-io-not-multiple-of-min", "opt_io_size")]
    [TestCase("discard-seg-zero", "max_discard_seg")]
    [TestCase("discard-sectors-below-block", "max_discard_sectors")]
    [TestCase("discard-alignment-not-block", "discard_sector_alignment")]
    [TestCase("write-zeroes-seg-zero", "max_write_zeroes_seg")]
    [TestCase("write-zeroes-sectors-zero", "max_write_zeroes_sectors")]
    [TestCase("block-size-not-power-of-two", "block size")]
    [TestCase("capacity-overflows", "overflows")]
    public void ADeviceReportingContradictoryConfigIsRefusedWithTheFieldNamed(string patch, string field)
    {
        var e = Assert.Throws<InvalidDataException>(() => ConfigPatchingTransport.Start(Patches[patch]).Dispose());
        Assert.That(e!.Message, Does.Contain(field));
        Assert.That(e.Message, Does.Contain("embedded"), "the message names the device");
    }

    [Test]
    public void TheSameDeviceWithItsOwnConfigStarts()
    {
        using var engine = ConfigPatchingTransport.Start(c => c);
        using var buf = engine.Device.Rent(4096);
        engine.Wait(engine.Device.ReadAsync(0, buf.Memory));
    }

    [Test]
    public void AFieldOfAFeatureThatWasNotNegotiatedIsIgnored()
    {
        // seg_max 0 is harmless when SEG_MAX is not offered: the engine never reads it.
        using var engine = ConfigPatchingTransport.Start(c => c with { SegMax = 0 }, without: VirtioFeatures.BlkSegMax);
        using var buf = engine.Device.Rent(4096);
        engine.Wait(engine.Device.ReadAsync(0, buf.Memory));
    }

    [TestCase(100u, true)]
    [TestCase(0u, false)]          // qemu-storage-daemon reports size_max 0 with SIZE_MAX: no limit
    [TestCase(512u, false)]
    public void SizeMaxBelowOneBlockIsRefused(uint sizeMax, bool refused)
    {
        var features = FeatureNegotiation.Negotiate(VirtioFeatures.Version1 | VirtioFeatures.BlkSizeMax, VirtioFeatures.Version1 | VirtioFeatures.BlkSizeMax, VirtioFeatures.Version1);
        var config = new BlkConfig { Capacity = 2048, SizeMax = sizeMax };
        if (refused)
            Assert.That(() => DeviceConfigValidator.Validate(features, config, "test", 256), Throws.TypeOf<InvalidDataException>().With.Message.Contains("size_max"));
        else
            Assert.That(DeviceConfigValidator.Validate(features, config, "test", 256), Is.EqualTo(512));
    }

    [Test]
    public void AMaxQueueSizeOfZeroIsRefused()
    {
        var features = FeatureNegotiation.Negotiate(VirtioFeatures.Version1, VirtioFeatures.Version1, VirtioFeatures.Version1);
        Assert.That(() => DeviceConfigValidator.Validate(features, new BlkConfig { Capacity = 2048 }, "test", 0),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("max queue size"));
    }
}
