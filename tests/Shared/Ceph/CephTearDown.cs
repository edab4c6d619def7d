using Orion.Pmd.Tests.Ceph;

/// <summary>
/// Stops the run's Ceph cluster (<see cref="CephCluster.RequireShared"/>) once every test of the assembly ran; in the global
/// namespace so that it covers the whole assembly. Linked into each test project that uses the cluster.
/// </summary>
[SetUpFixture]
public sealed class CephTearDown
{
    /// <summary>Stops the cluster if a test started one.</summary>
    [OneTimeTearDown]
    public void StopCluster() => CephCluster.StopShared();
}
