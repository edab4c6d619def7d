namespace Orion.Pmd.Reactors;

/// <summary>
/// A unit of polled work run by a <see cref="Reactor"/> once per loop iteration, like an SPDK poller.
/// Poll must not block, and on the hot path should not allocate or lock.
/// </summary>
public interface IPoller
{
    /// <summary>Does whatever work is ready and returns how much (0 = idle); the reactor's busy/idle accounting and idle policy key off it.</summary>
    int Poll();
}
