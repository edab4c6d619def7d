namespace Orion.Pmd.Reactors;

/// <summary>
/// A poller whose work arrives with a notification it can switch on and off (a device's used-buffer
/// interrupt, signalled on an eventfd the reactor also waits on; see <see cref="Reactor.AddWakeSource"/>). While
/// the reactor busy-polls the notifications stay off; it turns them on only to park under
/// <see cref="IdlePolicy.Park"/>, like Seastar's <c>try_enter_interrupt_mode</c> / <c>exit_interrupt_mode</c>.
/// </summary>
/// <remarks>
/// Both calls run on the reactor thread, in pairs: every PrepareToPark (whatever it returned) is followed by
/// exactly one Unparked before the next poll. Neither should block or allocate.
/// </remarks>
public interface IParkablePoller : IPoller
{
    /// <summary>
    /// Called on the reactor thread just before it parks: re-enable the source's notifications (e.g. device
    /// interrupts), then re-check for work. Return false if work is already pending: the reactor then does not
    /// park, which closes the race where work arrived just before the notifications were re-enabled.
    /// </summary>
    bool PrepareToPark();

    /// <summary>
    /// Called on the reactor thread after it wakes (or when parking was abandoned): turn the notifications off
    /// again for busy polling.
    /// </summary>
    void Unparked();
}
