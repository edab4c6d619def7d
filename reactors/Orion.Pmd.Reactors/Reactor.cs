using Orion.Pmd.Linux;

namespace Orion.Pmd.Reactors;

/// <summary>
/// One polling loop on one OS thread (pinned to a core when asked), in the spirit of an SPDK reactor. Each
/// iteration first runs a bounded batch of cross-thread messages, then every poller once, in the order added,
/// and accounts the iteration as busy or idle. The loop takes no locks and allocates nothing.
/// </summary>
/// <remarks>
/// Not started, a reactor can be driven one iteration at a time with <see cref="RunOnce"/> (tests, and
/// <see cref="PollerHarness"/>). Pollers and messages that throw are reported, never allowed to end the thread.
/// Under <see cref="IdlePolicy.Park"/> an idle reactor sleeps in poll(2) until a post, <see cref="Wake"/> or a
/// wake source rouses it. This file holds construction, pollers and the lifecycle; the loop, the messages and
/// parking live beside it.
/// </remarks>
public sealed partial class Reactor : IDisposable
{
    // _state moves forward only: Created -> (Running) -> Stopping -> Stopped.
    private const int Created = 0;
    private const int Running = 1;
    private const int Stopping = 2;
    private const int Stopped = 3;

    [ThreadStatic] private static Reactor? t_current;

    // Start/Stop/Dispose are rare and may block (join), so a plain lock keeps them simple; the loop never takes it.
    private readonly Lock _lifecycle = new();
    private readonly MpscRing<ReactorMessage> _messages;
    private PollerEntry[] _pollers = [];
    private Thread? _thread;
    private int _state;
    private int _disposed;

    /// <summary>Creates a reactor that is not yet running.</summary>
    public Reactor(ReactorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Core is int core) ArgumentOutOfRangeException.ThrowIfNegative(core, nameof(options.Core));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MessageCapacity, nameof(options.MessageCapacity));
        ValidatePolicy(options.IdlePolicy, options.ParkAfter, nameof(options.IdlePolicy), nameof(options.ParkAfter));
        _maxParkMs = ToPollTimeout(options.MaxPark);
        Id = options.Id;
        Core = options.Core;
        MaxPark = options.MaxPark;
        _idlePolicy = (int)options.IdlePolicy;
        _parkAfterTicks = ToStopwatchTicks(options.ParkAfter);
        Name = options.Name ?? $"reactor-{options.Id}";
        _messages = new MpscRing<ReactorMessage>(options.MessageCapacity);
    }

    /// <summary>The reactor's number.</summary>
    public int Id { get; }

    /// <summary>The cpu its thread is pinned to, or null when unpinned.</summary>
    public int? Core { get; }

    /// <summary>What the loop does after an idle iteration; changed at run time by <see cref="SetIdlePolicy"/>.</summary>
    public IdlePolicy IdlePolicy => (IdlePolicy)Volatile.Read(ref _idlePolicy);

    /// <summary>
    /// Whether the loop may sleep (every policy but <see cref="IdlePolicy.BusyPoll"/>: a yielding reactor parks too while
    /// a poller waits on the kernel): code that hands it work by other means than <see cref="Post"/> must then call
    /// <see cref="Wake"/> after publishing it.
    /// </summary>
    public bool MayPark => (IdlePolicy)Volatile.Read(ref _idlePolicy) != IdlePolicy.BusyPoll;

    /// <summary>Under <see cref="IdlePolicy.Park"/>, the idle time before parking (see <see cref="ReactorOptions.ParkAfter"/>).</summary>
    public TimeSpan ParkAfter => FromStopwatchTicks(Volatile.Read(ref _parkAfterTicks));

    /// <summary>The longest single park (see <see cref="ReactorOptions.MaxPark"/>).</summary>
    public TimeSpan MaxPark { get; }

    /// <summary>The loop thread's name.</summary>
    public string Name { get; }

    /// <summary>The reactor whose loop (or <see cref="RunOnce"/>) is running on the calling thread, if any.</summary>
    public static Reactor? Current => t_current;

    /// <summary>True on the reactor's own thread, and during its <see cref="RunOnce"/>.</summary>
    public bool IsCurrent => t_current == this;

    /// <summary>True between <see cref="Start"/> and the end of <see cref="Stop"/>.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == Running;

    /// <summary>How many pollers are registered (racy when read from another thread while running).</summary>
    public int PollerCount => Volatile.Read(ref _pollers).Length;

    /// <summary>
    /// Raised on the reactor thread when a poller throws; the poller has already been removed. A handler that
    /// throws is ignored.
    /// </summary>
    public event Action<Exception>? PollerFaulted;

    /// <summary>
    /// Raised on the reactor thread when a posted message throws; the loop goes on with the next message.
    /// A handler that throws is ignored.
    /// </summary>
    public event Action<Exception>? MessageFaulted;

    /// <summary>
    /// Registers <paramref name="poller"/> to run after those already added. Allowed before <see cref="Start"/>
    /// (from one thread at a time) or on the reactor's own thread, e.g. inside a posted message.
    /// </summary>
    public void AddPoller(IPoller poller)
    {
        ArgumentNullException.ThrowIfNull(poller);
        ThrowIfPollersLocked();
        PollerEntry[] old = _pollers;
        var updated = new PollerEntry[old.Length + 1];
        old.CopyTo(updated, 0);
        updated[^1] = new PollerEntry(poller);
        Volatile.Write(ref _pollers, updated);
    }

    /// <summary>
    /// Unregisters the first registration of <paramref name="poller"/>; false if it was not registered. Same
    /// thread rules as <see cref="AddPoller"/>. A poller removed during an iteration does not run again in it.
    /// </summary>
    public bool RemovePoller(IPoller poller)
    {
        ArgumentNullException.ThrowIfNull(poller);
        ThrowIfPollersLocked();
        foreach (PollerEntry entry in _pollers)
        {
            if (ReferenceEquals(entry.Poller, poller))
            {
                RemoveEntry(entry);
                return true;
            }
        }
        return false;
    }

    // Copy-on-write: the loop may be walking the old array (when a poller removes itself or another).
    private void RemoveEntry(PollerEntry entry)
    {
        entry.Removed = true;
        Volatile.Write(ref _pollers, Array.FindAll(_pollers, e => !ReferenceEquals(e, entry)));
    }

    private void ThrowIfPollersLocked()
    {
        if (IsCurrent) return;
        int state = Volatile.Read(ref _state);
        if (state == Running || state == Stopping)
            throw new InvalidOperationException(
                $"{Name} is running: add or remove pollers on its own thread (post a message that does it)");
    }

    /// <summary>
    /// Starts the loop on a dedicated background thread, pinned to <see cref="Core"/> if set, and returns once
    /// the thread is pinned and looping. A reactor starts at most once.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started or stopped, or pinning failed (inner exception).</exception>
    public void Start()
    {
        if (IsCurrent) throw new InvalidOperationException($"{Name} cannot start itself");
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_state != Created) throw new InvalidOperationException($"{Name} was already started");

            // Created here rather than in the constructor so a reactor that never runs holds no fd; Stop closes
            // it after the join, when nothing can signal it any more.
            var wakeFd = new EventFd();
            _wakeFd = wakeFd;
            _pollSet[WakeFdIndex] = wakeFd.Fd;

            // Not disposed: the loop thread may still be inside Set when Wait returns; it holds no OS handle.
            var ready = new ManualResetEventSlim();
            Exception? pinError = null;
            var thread = new Thread(() =>
            {
                t_current = this;
                try
                {
                    if (Core is int core) CpuAffinity.PinCurrentThread(core);
                }
                catch (Exception e)
                {
                    pinError = e;
                    ready.Set();
                    return;
                }
                ready.Set();
                RunLoop();
                DrainAfterStop();
            }) { IsBackground = true, Name = Name };

            _thread = thread;
            Volatile.Write(ref _state, Running);
            thread.Start();
            ready.Wait();
            if (pinError is not null)
            {
                thread.Join();
                StopNotStarted();   // run whatever was posted meanwhile, as Stop does for an un-started reactor
                CloseWakeFd();
                throw new InvalidOperationException($"{Name} could not be pinned to cpu {Core}: {pinError.Message}", pinError);
            }
        }
    }

    /// <summary>
    /// Stops the loop after its current iteration (waking it if parked), runs every message still queued, and
    /// joins the thread. On a reactor never started, the remaining messages run on the calling thread.
    /// Idempotent; call it from any thread but the reactor's own. Afterwards posting throws.
    /// </summary>
    public void Stop()
    {
        if (IsCurrent) throw new InvalidOperationException($"{Name} cannot stop (join) itself from its own thread");
        lock (_lifecycle)
        {
            switch (_state)
            {
                case Created:
                    StopNotStarted();
                    break;
                case Running:
                    // A full fence, so posters that count themselves in either see Stopping or are waited for.
                    Interlocked.Exchange(ref _state, Stopping);
                    // Unconditionally: a parked loop must see Stopping now, not after MaxPark; a loop that is not
                    // parked just finds a stale count that nobody reads. Stop owns the fd, so it is still open.
                    _wakeFd!.Signal();
                    _thread!.Join();
                    Volatile.Write(ref _state, Stopped);
                    CloseWakeFd();
                    break;
            }
        }
    }

    private void StopNotStarted()
    {
        Interlocked.Exchange(ref _state, Stopping);
        Reactor? previous = t_current;
        t_current = this;
        try
        {
            DrainAfterStop();
        }
        finally
        {
            t_current = previous;
            Volatile.Write(ref _state, Stopped);
        }
    }

    /// <summary>Stops the reactor (see <see cref="Stop"/>); afterwards posting throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _disposed, 1);
        Stop();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (core {Core?.ToString() ?? "unpinned"}, {IdlePolicy})";

    // Only after the loop thread is gone: posters that could still signal were waited for by DrainAfterStop,
    // and later ones see Stopping and do not signal.
    private void CloseWakeFd()
    {
        _pollSet[WakeFdIndex] = -1;
        _wakeFd?.Dispose();
    }
}
