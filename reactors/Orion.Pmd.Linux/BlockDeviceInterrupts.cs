using System.Globalization;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>
/// Which CPUs take the completion interrupts of the disk behind a file or block device: the disk from
/// <c>/sys/dev/block/MAJOR:MINOR</c> (a partition's parent), its PCI function (the first ancestor of the disk's device
/// with <c>msi_irqs</c>), and the CPUs that handled those interrupts so far (<c>/proc/interrupts</c>). A thread that
/// sleeps until the disk completes wakes without a cross-CPU interrupt when it runs there — in a virtual machine that
/// IPI is a VM exit and the wake of a halted vCPU.
/// </summary>
/// <remarks>
/// Empty when it cannot tell: a virtual disk (loop, zram, a network block device) has no interrupts of its own, a file
/// system may span disks, and sysfs or /proc may be missing. A CPU counts when it handled at least 5 % of the
/// device's interrupts, so a device that spreads one vector per CPU (NVMe) names every CPU, i.e. no preference.
/// </remarks>
public static unsafe class BlockDeviceInterrupts
{
    /// <summary>The CPUs that take the interrupts of the disk holding <paramref name="path"/>, ascending; empty when unknown.</summary>
    public static int[] CpusFor(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            Statx st;
            if (LibC.statx(LibC.AT_FDCWD, path, 0, LibC.STATX_TYPE, &st) != 0) return [];
            bool blockDevice = (st.Mode & LibC.S_IFMT) == LibC.S_IFBLK;
            uint major = blockDevice ? st.RdevMajor : st.DevMajor, minor = blockDevice ? st.RdevMinor : st.DevMinor;
            string? pci = PciFunctionOf($"/sys/dev/block/{major}:{minor}");
            if (pci is null) return [];
            var irqs = File.ReadAllLines("/proc/interrupts");
            var ids = Directory.EnumerateFileSystemEntries(Path.Combine(pci, "msi_irqs")).Select(Path.GetFileName).ToHashSet();
            return CpusHandling(irqs, ids!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return [];
        }
    }

    /// <summary>The PCI function (a sysfs directory with <c>msi_irqs</c>) behind the block device at <paramref name="sysDevBlock"/>, or null.</summary>
    internal static string? PciFunctionOf(string sysDevBlock)
    {
        if (!Directory.Exists(sysDevBlock)) return null;
        var disk = new DirectoryInfo(sysDevBlock).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(sysDevBlock);
        if (File.Exists(Path.Combine(disk, "partition"))) disk = Path.GetDirectoryName(disk)!;
        string device = Path.Combine(disk, "device");
        if (!Directory.Exists(device)) return null;                     // loop, zram, device-mapper: no hardware of their own
        var dir = new DirectoryInfo(device).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(device);
        for (; dir is not null && dir.StartsWith("/sys/devices/", StringComparison.Ordinal); dir = Path.GetDirectoryName(dir))
            if (Directory.Exists(Path.Combine(dir, "msi_irqs"))) return dir;
        return null;
    }

    /// <summary>
    /// From the lines of <c>/proc/interrupts</c>: the CPUs that handled at least 5 % of the interrupts numbered in
    /// <paramref name="irqs"/>, ascending (empty when none were counted).
    /// </summary>
    public static int[] CpusHandling(IReadOnlyList<string> procInterrupts, IReadOnlySet<string> irqs)
    {
        ArgumentNullException.ThrowIfNull(procInterrupts);
        ArgumentNullException.ThrowIfNull(irqs);
        if (procInterrupts.Count == 0) return [];
        var cpus = procInterrupts[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(c => c.StartsWith("CPU", StringComparison.Ordinal) && int.TryParse(c.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : -1)
            .ToArray();
        if (cpus.Length == 0 || cpus.Any(c => c < 0)) return [];
        var counts = new long[cpus.Length];
        foreach (var line in procInterrupts.Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length <= cpus.Length || !irqs.Contains(fields[0].TrimEnd(':'))) continue;
            for (int c = 0; c < cpus.Length; c++)
                if (long.TryParse(fields[c + 1], NumberStyles.None, CultureInfo.InvariantCulture, out long n)) counts[c] += n;
        }
        long total = counts.Sum();
        if (total == 0) return [];
        return Enumerable.Range(0, cpus.Length).Where(c => counts[c] * 20 >= total).Select(c => cpus[c]).Order().ToArray();
    }
}
