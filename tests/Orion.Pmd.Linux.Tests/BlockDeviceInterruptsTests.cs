using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

/// <summary>
/// Which CPUs take a disk's interrupts: /proc/interrupts parsed for the device's vectors (a CPU counts with 5 % of
/// them), and the whole chain from a path on this machine, which must name only online CPUs and nothing for a disk
/// without interrupts of its own.
/// </summary>
public class BlockDeviceInterruptsTests
{
    private static readonly string[] ProcInterrupts =
    [
        "           CPU0       CPU1       CPU2       CPU3       ",
        " 35:          0          1          0          0  PCI-MSIX-0000:00:02.0   0-edge      virtio1-config",
        " 36:          0   21079141          0       9000  PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0",
        " 37:     500000     500000     500000     500000  PCI-MSIX-0000:00:03.0   1-edge      nvme0q1",
        "NMI:          0          0          0          0   Non-maskable interrupts",
    ];

    [Test]
    public void TheCpusThatHandledTheDevicesInterruptsAreNamed()
    {
        Assert.That(BlockDeviceInterrupts.CpusHandling(ProcInterrupts, new HashSet<string> { "35", "36" }), Is.EqualTo(new[] { 1 }),
            "CPU 1 took almost all; CPU 3's 9,000 are under 5 %");
        Assert.That(BlockDeviceInterrupts.CpusHandling(ProcInterrupts, new HashSet<string> { "37" }), Is.EqualTo(new[] { 0, 1, 2, 3 }),
            "a vector per CPU: every CPU, no preference");
        Assert.That(BlockDeviceInterrupts.CpusHandling(ProcInterrupts, new HashSet<string> { "99" }), Is.Empty, "no such vector");
        Assert.That(BlockDeviceInterrupts.CpusHandling(ProcInterrupts, new HashSet<string> { "35" }), Is.EqualTo(new[] { 1 }));
        Assert.That(BlockDeviceInterrupts.CpusHandling([], new HashSet<string> { "36" }), Is.Empty);
        Assert.That(BlockDeviceInterrupts.CpusHandling(["garbage"], new HashSet<string> { "36" }), Is.Empty, "a header without CPU columns");
    }

    [Test]
    public void APathOnThisMachineNamesOnlyOnlineCpus_AndAVirtualDiskNone()
    {
        int cpus = Environment.ProcessorCount;
        var found = BlockDeviceInterrupts.CpusFor("/var/tmp");
        TestContext.Out.WriteLine($"/var/tmp: disk interrupts on CPU(s) {string.Join(",", found)}");
        Assert.That(found, Is.All.InRange(0, 1023));
        Assert.That(found, Is.Ordered.And.Unique);
        Assert.That(found.Length, Is.LessThanOrEqualTo(Math.Max(cpus, 1024)));
        // /proc is a virtual file system on no disk: nothing to prefer, and no exception.
        Assert.That(BlockDeviceInterrupts.CpusFor("/proc/self"), Is.Empty);
        Assert.That(BlockDeviceInterrupts.CpusFor("/no/such/path"), Is.Empty);
    }
}
