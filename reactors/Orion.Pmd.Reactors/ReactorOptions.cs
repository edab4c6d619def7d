namespace Orion.Pmd.Reactors;

/// <summary>How to build a <see cref="Reactor"/>.</summary>
public sealed class ReactorOptions
{
    /// <summary>The reactor's number, used in its thread name and by callers to pick their queue.</summary>
    public int Id { get; init; }

    /// <summary>The cpu to pin the reactor thread to (take it from <c>CpuAffinity.GetAllowedCpus()</c>); null = unpinned.</summary>
    public int? Core { get; init; }

    /// <summary>What the loop does after an idle iteration. Busy-polling is the production default.</summary>
    public IdlePolicy IdlePolicy { get; init; } = IdlePolicy.BusyPoll;

    /// <summary>The OS thread name; defaults to "reactor-{Id}". Linux shows the first 15 bytes.</summary>
    public string? Name { get; init; }

    /// <summary>Cross-thread message ring size, rounded up to a power of two.</summary>
    public int MessageCapacity { get; init; } = 1024;
}
