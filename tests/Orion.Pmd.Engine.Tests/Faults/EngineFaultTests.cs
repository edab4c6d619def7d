using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// Fault injection through the engine, configured by the device string alone (<c>,fault=</c>), in Manual threading.
/// Needs PmdEngine.Start to carry <see cref="DeviceString.Faults"/> into SoftBlkDeviceOptions.Faults.
/// </summary>
public class EngineFaultTests
{
    [Test]
    public void EveryThirdWriteFailsWithIoErrorAndLeavesItsDataUntouched()
    {
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = "mem:16M,fault=ioerr:every=3:type=write",
            Threading = EngineThreading.Manual,
            Queues = 1,
            QueueSize = 64,
            BufferMemoryBytes = 16L << 20,
        });
        var dev = engine.Device;
        int failed = 0;
        for (long lba = 0; lba < 9; lba++)
        {
            var data = new byte[dev.BlockSize];
            Array.Fill(data, (byte)(lba + 1));
            try
            {
                engine.Wait(dev.WriteAsync(lba, data));
                Assert.That((lba + 1) % 3, Is.Not.Zero, $"write {lba + 1} should have failed");
            }
            catch (BlockDeviceException e)
            {
                Assert.That((lba + 1) % 3, Is.Zero, $"write {lba + 1} failed: {e.Message}");
                failed++;
            }
            var back = new byte[dev.BlockSize];
            engine.Wait(dev.ReadAsync(lba, back));
            Assert.That(back, Is.All.EqualTo((lba + 1) % 3 == 0 ? (byte)0 : (byte)(lba + 1)));
        }
        Assert.That(failed, Is.EqualTo(3), "injected = observed");
    }

    [Test]
    public void DeviceStringWithoutFaultsInjectsNothing()
    {
        using var engine = ManualEngine.Start("mem:16M");
        var data = new byte[engine.Device.BlockSize];
        for (long lba = 0; lba < 6; lba++) engine.Wait(engine.Device.WriteAsync(lba, data));
    }
}
