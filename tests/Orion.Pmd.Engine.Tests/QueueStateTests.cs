using Orion.Pmd.Engine.Queues;

namespace Orion.Pmd.Engine.Tests;

/// <summary>The queue state table: what recovery may do, and what nothing may undo (states by name: the enum is internal).</summary>
public class QueueStateTests
{
    [TestCase("Running", "Broken")]
    [TestCase("Broken", "Running")]
    [TestCase("Running", "Unserved")]
    [TestCase("Unserved", "Running")]
    [TestCase("Running", "AwaitingDeviceReset")]
    [TestCase("AwaitingDeviceReset", "Unserved")]
    [TestCase("Broken", "Suspended")]
    [TestCase("Suspended", "Running")]
    [TestCase("Suspended", "LinkLost")]
    [TestCase("LinkLost", "Stopped")]
    [TestCase("Faulted", "Stopped")]
    public void RecoveryMayMove(string from, string to)
        => Assert.That(QueueStates.IsLegal(Enum.Parse<QueueState>(from), Enum.Parse<QueueState>(to)), Is.True);

    [TestCase("LinkLost", "Running")]
    [TestCase("LinkLost", "Suspended")]
    [TestCase("Faulted", "Running")]
    [TestCase("Faulted", "LinkLost")]
    [TestCase("Stopped", "Running")]
    [TestCase("Stopped", "AwaitingDeviceReset")]
    [TestCase("Broken", "Unserved")]
    public void NothingUndoesAnEndOrSkipsAReset(string from, string to)
        => Assert.That(QueueStates.IsLegal(Enum.Parse<QueueState>(from), Enum.Parse<QueueState>(to)), Is.False);

    [Test]
    public void EveryStateIsLegalToStayIn()
    {
        foreach (var s in Enum.GetValues<QueueState>()) Assert.That(QueueStates.IsLegal(s, s), Is.True, s.ToString());
    }
}
