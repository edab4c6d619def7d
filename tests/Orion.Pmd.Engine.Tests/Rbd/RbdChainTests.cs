using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Tests.Ceph;

namespace Orion.Pmd.Engine.Tests.Rbd;

/// <summary>
/// <c>orion-perf --verify=crc32c</c> on a Ceph RBD image of the run's single-node cluster, every way a user reaches
/// one: through vhost-user to qemu-storage-daemon's <c>driver=rbd</c>, through vhost-user to <c>orion-vhost --device
/// rbd:...</c>, and embedded (<c>--device=rbd:...</c>). Every block written is read back and checked (crc32c header
/// with offset and sequence), and the image is then read by an independent reader (<c>rbd export</c>) to find that the
/// job's writes reached the cluster.
/// </summary>
[NonParallelizable]
public class RbdChainTests
{
    private const long ImageBytes = 32 << 20;
    private static readonly TimeSpan RunBound = TimeSpan.FromSeconds(150);
    private string? _image;

    // The run's cluster, owned by CephTearDown (one per test run), never by a test.
    private static CephCluster Cluster => CephCluster.RequireShared();

    [SetUp]
    public void SetUp() => _image = Cluster.CreateImage(ImageBytes, "chain");

    [TearDown]
    public void TearDown()
    {
        if (_image is not null) Cluster.RemoveImage(_image);
        _image = null;
    }

    /// <summary>A verified random-write job over the first 8 MiB at QD32, then the read-back of every block.</summary>
    private static string[] VerifiedWrites(string device) =>
        [$"--device={device}", "--name=verified", "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=8M", "--verify=crc32c", "--verify_fatal=1"];

    private void AssertVerifiedClean((int Code, string Out, string Err) run, string chain)
    {
        Assert.That(run.Code, Is.Zero, $"{chain}: orion-perf failed: {run.Err}");
        var job = OrionPerfProcess.FirstJob(run.Out);
        Assert.That(job.GetProperty("error").GetInt32(), Is.Zero, chain);
        Assert.That(job.GetProperty("write").GetProperty("total_ios").GetInt64(), Is.EqualTo(2048), $"{chain}: every 4 KiB block of 8 MiB written once");
        var verify = OrionPerfProcess.Verify(job);
        Assert.That(verify.GetProperty("mismatches").GetInt64(), Is.Zero, $"{chain}: {verify}");
        Assert.That(verify.GetProperty("checked").GetInt64(), Is.EqualTo(2048), $"{chain}: every block read back and checked");
        // The writes are in the image, seen by another client: no block of the region is still all zeroes.
        var image = Cluster.ExportImage(_image!);
        for (int block = 0; block < 2048; block++)
            Assert.That(image.AsSpan(block * 4096, 4096).ContainsAnyExcept((byte)0), Is.True, $"{chain}: block {block} reached the image (rbd export)");
    }

    [Test]
    [CancelAfter(200_000)]
    public void VerifiedWritesThroughQemuStorageDaemon()
    {
        QemuStorageDaemon.RequireInstalled();
        using var daemon = QemuStorageDaemon.StartRbd(Cluster, _image!);
        var run = OrionPerfProcess.Run(RunBound, VerifiedWrites(daemon.DeviceString));
        Assert.That(daemon.Log, Is.Empty, "qemu-storage-daemon logged an error");
        AssertVerifiedClean(run, "orion-perf -> vhost-user -> qemu-storage-daemon -> librbd");
    }

    [Test]
    [CancelAfter(200_000)]
    public void VerifiedWritesThroughOrionVhost()
    {
        using var vhost = OrionVhostProcess.Start(Cluster.DeviceString(_image!));
        var run = OrionPerfProcess.Run(RunBound, VerifiedWrites(vhost.DeviceString));
        Assert.That(vhost.Errors, Is.Empty, "orion-vhost logged an error");
        AssertVerifiedClean(run, "orion-perf -> vhost-user -> orion-vhost --device rbd: -> librbd");
    }

    [Test]
    [CancelAfter(200_000)]
    public void VerifiedWritesEmbedded()
    {
        var run = OrionPerfProcess.Run(RunBound, VerifiedWrites(Cluster.DeviceString(_image!)));
        AssertVerifiedClean(run, "orion-perf --device=rbd: (embedded, librbd)");
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnImageThatDoesNotExistFailsAtStartWithTheReason()
    {
        var (code, _, err) = OrionPerfProcess.Run(TimeSpan.FromSeconds(50),
            $"--device=rbd:{CephCluster.Pool}/no-such-image,conf={Cluster.ConfPath}", "--rw=randread", "--bs=4k", "--runtime=1s");
        Assert.That(code, Is.Not.Zero);
        Assert.That(err, Does.Contain("no-such-image").And.Contain("ENOENT"));
    }
}
