using Orion.Pmd.Tests.Ceph;

namespace Orion.Pmd.Device.Tests.Support;

/// <summary>
/// A test fixture over the run's single-node Ceph cluster that gives each test a fresh 8 MiB RBD image and removes it
/// afterwards. The cluster is owned by CephTearDown (one per test run), never by a test.
/// </summary>
public abstract class RbdImageTest(string prefix)
{
    /// <summary>The size of each test's image.</summary>
    protected const int ImageBytes = 8 << 20;

    /// <summary>The run's cluster.</summary>
    protected static CephCluster Cluster => CephCluster.RequireShared();

    /// <summary>This test's image (in <see cref="CephCluster.Pool"/>).</summary>
    protected string? Image { get; private set; }

    [SetUp]
    public void CreateImage() => Image = Cluster.CreateImage(ImageBytes, prefix);

    [TearDown]
    public void RemoveImage()
    {
        if (Image is not null) Cluster.RemoveImage(Image);
        Image = null;
    }
}
