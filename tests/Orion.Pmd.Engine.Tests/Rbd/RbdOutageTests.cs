using System.Diagnostics;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Tests.Ceph;

namespace Orion.Pmd.Engine.Tests.Rbd;

/// <summary>
/// Storage outages under the native RBD backend, on the run's cluster (bluestore, so an OSD keeps its data across a
/// crash): an OSD killed and restarted during verified writes loses nothing that was acknowledged and the job
/// completes; an OSD that stays away longer than the device's <c>timeout=</c> fails requests with IOERR and librbd's
/// ETIMEDOUT in the device's recent errors, within a bound, and the device serves again once the OSD is back.
/// </summary>
[NonParallelizable]
public class RbdOutageTests
{
    private string? _image;

    // The run's cluster, owned by CephTearDown (one per test run), never by a test.
    private static CephCluster Cluster => CephCluster.RequireShared();

    [SetUp]
    public void SetUp() => _image = Cluster.CreateImage(32 << 20, "outage");

    [TearDown]
    public void TearDown()
    {
        if (_image is not null) Cluster.RemoveImage(_image);
        _image = null;
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task AShortOsdRestartDuringVerifiedWritesLosesNothingAcknowledged()
    {
        // QD32 verified random writes for 12 s with the engine's request timeout above any stall an OSD restart causes;
        // the OSD is killed 2 s in and comes back 3 s later.
        var job = Task.Run(() => OrionPerfProcess.Run(TimeSpan.FromSeconds(200),
            $"--device={Cluster.DeviceString(_image!)}", "--name=outage", "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=8M",
            "--runtime=12s", "--time_based", "--verify=crc32c", "--request_timeout=60s"));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.That(job.IsCompleted, Is.False, "the job still runs when the OSD goes away");
        Cluster.RestartOsd(TimeSpan.FromSeconds(3));
        var (code, output, err) = await job;
        Assert.That(code, Is.Zero, err);
        var result = OrionPerfProcess.FirstJob(output);
        Assert.That(result.GetProperty("error").GetInt32(), Is.Zero, "no request failed through the outage");
        Assert.That(result.GetProperty("write").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
        var verify = OrionPerfProcess.Verify(result);
        Assert.That(verify.GetProperty("mismatches").GetInt64(), Is.Zero, $"every acknowledged write reads back: {verify}");
        Assert.That(verify.GetProperty("checked").GetInt64(), Is.GreaterThan(0), "blocks were read back and checked");
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task ALongerOutageFailsRequestsWithETimedOut_NeverHangs_AndTheDeviceServesAgainAfterwards()
    {
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = Cluster.DeviceString(_image!) + ",timeout=4",
            Queues = 1,
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            RequestTimeout = TimeSpan.FromSeconds(60),
        });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        buf.Span.Fill(0x5A);
        await dev.WriteAsync(0, buf.Memory);
        Cluster.KillOsd();
        try
        {
            var clock = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await dev.WriteAsync(8, buf.Memory));
            Assert.That(e!.Status, Is.EqualTo(IoStatus.IoError));
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "librados' 4 s timeout, not a hang");
            var device = ((EmbeddedTransport)engine.Transport).Device;
            Assert.That(device.RecentBackendErrors(0).Select(x => x.Message), Has.Some.Contains("ETIMEDOUT").And.Some.Contains("write of 4096 bytes"));
        }
        finally
        {
            Cluster.StartOsd();
        }
        buf.Span.Fill(0xA5);
        await dev.WriteAsync(16, buf.Memory);
        using var back = dev.Rent(4096);
        await dev.ReadAsync(16, back.Memory);
        Assert.That(back.Span.IndexOfAnyExcept((byte)0xA5), Is.EqualTo(-1), "the device serves again once the OSD is back");
        await dev.ReadAsync(0, back.Memory);
        Assert.That(back.Span.IndexOfAnyExcept((byte)0x5A), Is.EqualTo(-1), "the write acknowledged before the outage is there");
    }
}
