namespace Orion.Pmd.Reactors;

/// <summary>
/// A registered poller. The reactor's poller list is a copy-on-write array of these; removal also sets
/// <see cref="Removed"/>, so an iteration walking the old array skips a poller removed halfway through it.
/// </summary>
internal sealed class PollerEntry(IPoller poller)
{
    public readonly IPoller Poller = poller;

    /// <summary>The same poller when it takes part in parking; resolved once so parking does no type tests.</summary>
    public readonly IParkablePoller? Parkable = poller as IParkablePoller;

    /// <summary>The same poller when its work can wait in the kernel (<see cref="IdlePolicy.Hybrid"/> parks on it).</summary>
    public readonly IKernelWaitPoller? KernelWait = poller as IKernelWaitPoller;
    public readonly IKernelSleepHost? SleepHost = poller as IKernelSleepHost;

    public bool Removed;
}
