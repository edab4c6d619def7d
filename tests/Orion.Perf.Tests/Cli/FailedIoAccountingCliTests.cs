using System.Text.Json;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// Failed I/Os as fio counts them, through the whole command on a device that fails every 50th write: they are in
/// <c>total_ios</c> (fio's <c>total_io_u</c> counts every I/O issued, so its <c>iops</c> includes them) and in the
/// error fields, never in bytes, bandwidth, latency statistics, percentiles, bins or the latency distribution
/// (fio's <c>account_io_completion</c> runs only for an I/O without error).
/// </summary>
[NonParallelizable]
public class FailedIoAccountingCliTests
{
    private const int Ios = 400, Failed = 8, Good = Ios - Failed;

    private static readonly string[] Job =
    [
        "--rw=randwrite", "--bs=4k", "--iodepth=4", "--number_ios=400", "--size=8M",
        "--device=mem:16M,fault=ioerr:every=50:type=write", "--continue_on_error=io",
    ];

    private static (int Code, string Out, string Err) Run(params string[] extra)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run([.. Job, .. extra], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    [CancelAfter(60_000)]
    public void JsonCountsOnlyGoodIosInBytesAndLatency()
    {
        var (code, output, err) = Run("--output-format=json+", "--slat_percentiles=1", "--lat_percentiles=1");
        Assert.That(code, Is.Zero, err);
        var job = JsonDocument.Parse(output).RootElement.GetProperty("jobs")[0];
        var write = job.GetProperty("write");
        Assert.That(job.GetProperty("total_err").GetInt64(), Is.EqualTo(Failed));
        Assert.That(write.GetProperty("total_ios").GetInt64(), Is.EqualTo(Ios), "fio's total_ios counts every I/O issued, failed ones too");
        Assert.That(write.GetProperty("io_bytes").GetInt64(), Is.EqualTo(Good * 4096L), "bytes of good I/Os only");
        Assert.That(write.GetProperty("io_kbytes").GetInt64(), Is.EqualTo(Good * 4L));
        foreach (var stat in new[] { "slat_ns", "clat_ns", "lat_ns" })
        {
            var s = write.GetProperty(stat);
            Assert.That(s.GetProperty("N").GetInt64(), Is.EqualTo(Good), stat);
            long binned = s.GetProperty("bins").EnumerateObject().Sum(b => b.Value.GetInt64());
            Assert.That(binned, Is.EqualTo(Good), stat + " bins");
        }
        // fio divides the distribution by total_io_u: the good I/Os are 98 % of it.
        double distributed = new[] { "latency_ns", "latency_us", "latency_ms" }
            .SelectMany(g => job.GetProperty(g).EnumerateObject()).Sum(p => p.Value.GetDouble());
        Assert.That(distributed, Is.EqualTo(100.0 * Good / Ios).Within(0.2));
    }

    [Test]
    [CancelAfter(60_000)]
    public void NormalOutputCountsOnlyGoodBytes()
    {
        var (code, output, err) = Run();
        Assert.That(code, Is.Zero, err);
        // 392 x 4 KiB = 1568 KiB: the group line's io= and the job line's (io/runtime).
        Assert.That(output, Does.Contain("io=1568KiB (1606kB)"));
        Assert.That(output, Does.Contain("(1568KiB/"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void TerseCountsOnlyGoodBytes()
    {
        var (code, output, err) = Run("--output-format=terse");
        Assert.That(code, Is.Zero, err);
        var fields = output.Trim().Split(';');
        // Version 3: five header fields, 41 for reads, then the write block: its total io in KiB first.
        Assert.That(fields[0], Is.EqualTo("3"));
        Assert.That(fields[46], Is.EqualTo((Good * 4).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(fields[^2], Is.EqualTo(Failed.ToString(System.Globalization.CultureInfo.InvariantCulture)), "continue_on_error adds total_err and first_error");
    }
}
