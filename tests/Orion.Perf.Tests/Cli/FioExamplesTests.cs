using System.Text.RegularExpressions;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// fio's own example job files (Debian's <c>fio-examples</c>, read where the package puts them; never copied into
/// the repository) run with <c>--device</c> added, except the files listed in <see cref="Exceptions"/> with the
/// reason, which the README lists too.
/// </summary>
/// <remarks>
/// To bound the test's time every file runs with <c>--runtime=1 --time_based</c> (one that fills the device runs on a
/// 64 MiB <c>file:</c> device instead, which bounds it), and a temporary copy replaces the
/// file's own <c>runtime=</c>/<c>timeout=</c> with 1 s, drops <c>ramp_time=</c> to 0 and divides <c>startdelay=</c>
/// by 20 (fio's files otherwise run for 15 minutes, or start clients two minutes apart). Nothing else changes.
/// </remarks>
[NonParallelizable]
public class FioExamplesTests
{
    /// <summary>Where Debian's fio-examples package installs the files.</summary>
    public const string ExamplesDirectory = "/usr/share/doc/fio/examples";

    /// <summary>Files that do not run, each with why: another engine (not block I/O) or a zoned device.</summary>
    public static readonly IReadOnlyDictionary<string, string> Exceptions = new Dictionary<string, string>
    {
        // another engine: not block I/O against a device
        ["cpuio.fio"] = "engine cpuio burns CPU, no I/O",
        ["dfs.fio"] = "engine dfs (DAOS file system)",
        ["e4defrag.fio"] = "engine e4defrag (ext4 online defragmentation of files)",
        ["e4defrag2.fio"] = "engine e4defrag (ext4 online defragmentation of files)",
        ["exec.fio"] = "engine exec runs programs",
        ["falloc.fio"] = "engine falloc (file-system fallocate/punch-hole)",
        ["filecreate-ioengine.fio"] = "engine filecreate (file-system metadata)",
        ["filedelete-ioengine.fio"] = "engine filedelete (file-system metadata)",
        ["filestat-ioengine.fio"] = "engine filestat (file-system metadata)",
        ["ftruncate.fio"] = "engine ftruncate (file-system truncation)",
        ["gfapi.fio"] = "engine gfapi (GlusterFS)",
        ["gpudirect-rdmaio-client.fio"] = "engine rdma (network)",
        ["gpudirect-rdmaio-server.fio"] = "engine rdma (network)",
        ["http-s3-crypto.fio"] = "engine http (object storage)",
        ["http-s3-storage-class.fio"] = "engine http (object storage)",
        ["http-s3.fio"] = "engine http (object storage)",
        ["http-swift.fio"] = "engine http (object storage)",
        ["http-webdav.fio"] = "engine http (object storage)",
        ["ime.fio"] = "engine ime (DDN IME file system)",
        ["libcufile-cufile.fio"] = "engine libcufile (GPU memory to files)",
        ["libcufile-posix.fio"] = "engine libcufile (GPU memory to files)",
        ["libhdfs.fio"] = "engine libhdfs (HDFS)",
        ["libiscsi.fio"] = "engine libiscsi (an iSCSI target over the network)",
        ["libpmem.fio"] = "engine libpmem (persistent memory, byte-addressed)",
        ["librpma_apm-client.fio"] = "engine librpma (RDMA to persistent memory)",
        ["librpma_apm-server.fio"] = "engine librpma (RDMA to persistent memory)",
        ["librpma_gpspm-client.fio"] = "engine librpma (RDMA to persistent memory)",
        ["librpma_gpspm-server.fio"] = "engine librpma (RDMA to persistent memory)",
        ["mtd.fio"] = "engine mtd (raw flash with erase blocks)",
        ["nbd.fio"] = "engine nbd (a network block device server over a socket)",
        ["netio.fio"] = "engine net (network)",
        ["netio_multicast.fio"] = "engine net (network)",
        ["nfs.fio"] = "engine nfs (NFS client)",
        ["pmemblk.fio"] = "engine pmemblk (persistent memory)",
        ["dev-dax.fio"] = "engine dev-dax (byte-addressed DAX memory, 2 MiB transfers)",
        ["rados.fio"] = "engine rados (Ceph objects)",
        ["rbd.fio"] = "engine rbd (Ceph block devices over the network)",
        ["rdmaio-client.fio"] = "engine rdma (network)",
        ["rdmaio-server.fio"] = "engine rdma (network)",
        ["sg_verify-fail.fio"] = "engine sg (SCSI generic commands: WRITE AND VERIFY)",
        ["sg_verify.fio"] = "engine sg (SCSI generic commands: WRITE AND VERIFY)",
        ["sg_write_same_ndob.fio"] = "engine sg (SCSI generic commands: WRITE SAME)",
        ["xnvme-compare.fio"] = "engine xnvme with NVMe compare commands, chosen on fio's command line",
        ["enospc-pressure.fio"] = "a file-system test: files in a directory, hole punching and ENOSPC",
        // a zoned device
        ["libzbc-rand-write.fio"] = "zoned block device (zonemode=zbd, engine libzbc)",
        ["libzbc-seq-read.fio"] = "zoned block device (zonemode=zbd, engine libzbc)",
        ["uring-cmd-zoned.fio"] = "zoned block device (zonemode=zbd, NVMe passthrough)",
        ["xnvme-zoned.fio"] = "zoned block device (zonemode=zbd)",
        ["zbd-rand-write.fio"] = "zoned block device (zonemode=zbd)",
        ["zbd-seq-read.fio"] = "zoned block device (zonemode=zbd)",
    };

    /// <summary>
    /// Files that need a device larger than the test machine's memory, with its size: a sparse <c>file:</c> device, which
    /// keeps data for verify and costs disk only for the blocks written (cross-stripe-verify.fio puts 30 jobs 124 GiB apart).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> LargeDevices = new Dictionary<string, string>
    {
        ["cross-stripe-verify.fio"] = "3720G",
    };

    /// <summary>The environment the files' <c>${VAR}</c>s need.</summary>
    private static readonly Dictionary<string, string> Environment = new()
    {
        ["FIO_RW"] = "randread",
        ["FIO_IODEPTH"] = "4",
        ["FIO_BS"] = "4k",
    };

    private static IEnumerable<string> ExampleFiles() =>
        Directory.Exists(ExamplesDirectory) ? Directory.GetFiles(ExamplesDirectory, "*.fio").Select(Path.GetFileName).Order()! : [];

    private static IEnumerable<TestCaseData> Runnable() =>
        ExampleFiles().Where(f => !Exceptions.ContainsKey(f)).Select(f => new TestCaseData(f).SetName($"Runs({f})"));

    [Test]
    public void EveryExceptionIsAnExampleAndTheREADMEListsIt()
    {
        if (!Directory.Exists(ExamplesDirectory)) Assert.Ignore($"fio-examples is not installed ({ExamplesDirectory}); tests/run.sh installs it");
        var files = ExampleFiles().ToHashSet();
        Assert.That(Exceptions.Keys.Where(k => !files.Contains(k)), Is.Empty, "exceptions for files the package does not have");
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        Assert.That(Exceptions.Keys.Where(k => !readme.Contains(k, StringComparison.Ordinal)), Is.Empty, "README.md must name every exception");
        Assert.That(Runnable().Count(), Is.GreaterThanOrEqualTo(20), "most block-device examples run");
    }

    [TestCaseSource(nameof(Runnable))]
    [CancelAfter(60_000)]
    public void Runs(string file)
    {
        string text = Shorten(File.ReadAllText(Path.Combine(ExamplesDirectory, file)));
        string dir = Directory.CreateTempSubdirectory("fio-example-").FullName;
        try
        {
            string copy = Path.Combine(dir, file);
            File.WriteAllText(copy, text);
            // verify needs a device that keeps data; 1 GiB either way. A file that fills the device (fill_device) and then
            // verifies it in a later, stonewalled job is bounded by the device rather than by time: it runs on a 64 MiB
            // file, which keeps the data from one job to the next (each group of jobs runs on an engine of its own).
            bool verify = Regex.IsMatch(text, @"^\s*verify\s*=\s*(?!0|none)", RegexOptions.Multiline);
            bool fills = Regex.IsMatch(text, @"^\s*fill_(device|fs)\b", RegexOptions.Multiline);
            string device = LargeDevices.TryGetValue(file, out var large) ? $"file:{Path.Combine(dir, "disk.img")},size={large}"
                : fills ? $"file:{Path.Combine(dir, "disk.img")},size=64M" : verify ? "mem:1G" : "null:1G";
            string[] bound = fills ? [] : ["--runtime=1", "--time_based"];
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            foreach (var (k, v) in Environment) System.Environment.SetEnvironmentVariable(k, v);
            int code = PerfCommand.Run([copy, $"--device={device}", .. bound, "--output-format=json"], stdout, stderr);
            Assert.That(code, Is.Zero, $"{file}: {stderr}");
            using var json = System.Text.Json.JsonDocument.Parse(stdout.ToString());
            Assert.That(json.RootElement.GetProperty("jobs").GetArrayLength(), Is.GreaterThan(0));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The file with its own runtimes cut to 1 s, ramps to 0 and start delays divided by 20.</summary>
    internal static string Shorten(string text)
    {
        text = Regex.Replace(text, @"^(\s*(?:runtime|timeout)\s*=\s*)[^\s;#]+", "${1}1", RegexOptions.Multiline);
        text = Regex.Replace(text, @"^(\s*ramp_time\s*=\s*)[^\s;#]+", "${1}0", RegexOptions.Multiline);
        return Regex.Replace(text, @"^(\s*startdelay\s*=\s*)(\d+)\s*$", m => m.Groups[1].Value + (int.Parse(m.Groups[2].Value) * 50) + "ms", RegexOptions.Multiline);
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "README.md"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("README.md not found above the test directory");
    }
}
