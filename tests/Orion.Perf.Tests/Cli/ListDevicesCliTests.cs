namespace Orion.Perf.Tests.Cli;

/// <summary><c>orion-perf --list-devices</c>: this machine's virtio-blk PCI functions, one line each, or a line saying there are none.</summary>
public class ListDevicesCliTests
{
    [Test]
    public void ListsThisMachinesVirtioBlkFunctionsOrSaysThereAreNone()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.That(PerfCommand.Run(["--list-devices"], stdout, stderr), Is.Zero, stderr.ToString());
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.Not.Empty);
        if (lines[0].StartsWith("no virtio-blk", StringComparison.Ordinal)) return;
        Assert.That(lines, Is.All.Match(@"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]  1af4:(1042|1001)  driver=\S+  iommu_group=\S+  capacity=.+  (ready for VFIO|not ready: .+)$"));
    }

    [Test]
    public void AMachineWithoutPciSaysSo()
    {
        var root = Directory.CreateTempSubdirectory("orion-sysfs-").FullName;
        try
        {
            var stdout = new StringWriter();
            Assert.That(ListDevicesCommand.Run(stdout, root), Is.Zero);
            Assert.That(stdout.ToString(), Does.StartWith("no virtio-blk PCI functions"));
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
