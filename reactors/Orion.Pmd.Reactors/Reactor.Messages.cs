using System.Runtime.CompilerServices;

namespace Orion.Pmd.Reactors;

public sealed partial class Reactor
{
    // Threads inside TryPost right now. Stop waits for it to reach zero before the final drain, so a message
    // accepted while the reactor was still running is never left behind.
    private PaddedCounter _posters;

    /// <summary>
    /// Queues <paramref name="action"/>(<paramref name="state"/>) to run on the reactor thread, waking it if it is
    /// parked. Any thread; lock-free and allocation-free (pass a cached delegate and put the context in
    /// <paramref name="state"/>).
    /// </summary>
    /// <returns>False when the message ring is full: retry later.</returns>
    /// <exception cref="InvalidOperationException">The reactor is stopping or stopped.</exception>
    /// <exception cref="ObjectDisposedException">The reactor was disposed.</exception>
    public bool TryPost(Action<object?> action, object? state)
    {
        ArgumentNullException.ThrowIfNull(action);
        bool accepted;
        Interlocked.Increment(ref _posters.Value);   // full fence before reading _state (pairs with Stop's exchange)
        try
        {
            if (Volatile.Read(ref _state) >= Stopping) ThrowNotAccepting();
            accepted = _messages.TryEnqueue(new ReactorMessage(action, state));
        }
        finally
        {
            Interlocked.Decrement(ref _posters.Value);
        }
        // The decrement is a full fence after the publish, the one the park handshake needs (see Reactor.Park.cs).
        if (accepted && Volatile.Read(ref _park.Parking) != 0) SignalParked();
        return accepted;
    }

    /// <summary>
    /// Like <see cref="TryPost"/>, but waits (spinning, then yielding) while the ring is full. Throws rather than
    /// wait forever when nothing can drain the ring: on the reactor's own thread, or when it is not started.
    /// </summary>
    public void Post(Action<object?> action, object? state)
    {
        if (TryPost(action, state)) return;
        if (IsCurrent || Volatile.Read(ref _state) != Running)
            throw new InvalidOperationException($"{Name}'s message ring is full and no loop thread is draining it");
        var spin = new SpinWait();
        while (!TryPost(action, state)) spin.SpinOnce();
    }

    /// <summary>Runs every message left once the state is Stopping; on the loop thread, or the stopper's for an un-started reactor.</summary>
    private void DrainAfterStop()
    {
        Interlocked.MemoryBarrier();   // read _posters only after having seen Stopping
        var spin = new SpinWait();
        while (Volatile.Read(ref _posters.Value) != 0) spin.SpinOnce();
        // Messages that post more messages now get an exception, so this terminates.
        while (DrainMessages(int.MaxValue) > 0) { }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotAccepting()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        throw new InvalidOperationException($"{Name} is stopped and accepts no messages");
    }
}
