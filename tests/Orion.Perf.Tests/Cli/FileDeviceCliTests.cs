using System.Text.Json;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>orion-perf on a <c>file:</c> device: it creates the file, writes it, and checks the region once it knows the file's size.</summary>
[NonParallelizable]
public class FileDeviceCliTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("orion-perf-file-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [TestCase("")]
    [TestCase(",direct")]
    [CancelAfter(60_000)]
    public void RandomWritesToAFileItCreates(string options)
    {
        string path = Path.Combine(_dir, "x.img");
        var (code, output, err) = Run($"--device=file:{path},size=16M{options}", "--rw=randwrite", "--bs=4k", "--iodepth=8",
                                      "--runtime=300ms", "--time_based", "--output-format=json");
        Assert.That(code, Is.Zero, err);
        using var doc = JsonDocument.Parse(output);
        var job = doc.RootElement.GetProperty("jobs")[0];
        Assert.That(job.GetProperty("write").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
        Assert.That(job.GetProperty("error").GetInt32(), Is.Zero);
        Assert.That(new FileInfo(path).Length, Is.EqualTo(16L << 20));
        // The job's buffers carry random data: some of it reached the file.
        Assert.That(File.ReadAllBytes(path).AsSpan().ContainsAnyExcept((byte)0), Is.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnExistingFileWithoutSizeTakesRegionOptions()
    {
        string path = Path.Combine(_dir, "existing.img");
        File.WriteAllBytes(path, new byte[8 << 20]);
        var (code, output, err) = Run($"--device=file:{path}", "--rw=read", "--bs=64k", "--offset=1M", "--size=4M", "--output-format=json");
        Assert.That(code, Is.Zero, err);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("jobs")[0].GetProperty("read").GetProperty("io_bytes").GetInt64(), Is.EqualTo(4L << 20));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ARegionBeyondTheFileIsCutAtItsEndOnceItsSizeIsKnown()
    {
        // As fio: a size beyond the device's end is cut there; an offset beyond it is an error.
        string path = Path.Combine(_dir, "small.img");
        File.WriteAllBytes(path, new byte[1 << 20]);
        var (code, output, err) = Run($"--device=file:{path}", "--rw=read", "--bs=4k", "--offset=512k", "--size=1M", "--output-format=json");
        Assert.That(code, Is.Zero, err);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("jobs")[0].GetProperty("read").GetProperty("io_bytes").GetInt64(), Is.EqualTo(512L << 10));
        var (beyond, _, why) = Run($"--device=file:{path}", "--rw=read", "--bs=4k", "--offset=2M");
        Assert.That(beyond, Is.EqualTo(1));
        Assert.That(why, Does.Contain("--offset=2m: offset is at or beyond the end of the 1m device").IgnoreCase);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AMissingFileIsReportedWithItsPath()
    {
        string path = Path.Combine(_dir, "missing.img");
        var (code, _, err) = Run($"--device=file:{path}", "--rw=read", "--bs=4k", "--runtime=100ms");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain($"open({path})").And.Contain("ENOENT"));
    }
}
