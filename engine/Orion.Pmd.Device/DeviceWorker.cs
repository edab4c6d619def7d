using Orion.Pmd.Linux;

namespace Orion.Pmd.Device;

/// <summary>
/// A device thread serving a fixed set of queues: busy-polling (kicks suppressed), sleeping on the kick eventfd
/// between bursts, or both (adaptive: poll while work flows, sleep after an idle budget). It never calls into the driver; it only reads and writes shared memory and signals eventfds.
/// </summary>
internal sealed class DeviceWorker
{
    private readonly DeviceQueue[] _queues;
    private readonly DeviceServiceMode _mode;
    private readonly int? _core;
    private readonly bool _yieldWhenIdle;
    private readonly Action<DeviceQueue> _onBroken;
    private readonly Thread _thread;
    private volatile bool _stop;

    private readonly long _sleepAfterTicks;
    private readonly long _sleepWithIoAfterTicks;

    public DeviceWorker(string name, DeviceQueue[] queues, DeviceServiceMode mode, int? core, bool yieldWhenIdle, Action<DeviceQueue> onBroken,
                        TimeSpan sleepAfter = default, TimeSpan sleepWithIoAfter = default)
    {
        if (mode is DeviceServiceMode.KickDriven or DeviceServiceMode.Adaptive && queues.Length != 1)
            throw new ArgumentException($"a {mode} device thread serves exactly one queue", nameof(queues));
        _sleepAfterTicks = (long)(sleepAfter.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        _sleepWithIoAfterTicks = (long)(sleepWithIoAfter.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        _queues = queues;
        _mode = mode;
        _core = core;
        _yieldWhenIdle = yieldWhenIdle;
        _onBroken = onBroken;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
    }

    /// <summary>Bytes this thread allocated, read on the thread itself at the end of each pass.</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocated);
    private long _allocated;

    public void Start() => _thread.Start();

    /// <summary>Longest <see cref="Stop"/> waits for the thread.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Stops the thread and joins it, bounded by <paramref name="timeout"/> (<see cref="StopTimeout"/> when null); false
    /// when it did not end in time (the thread is told to stop and a later call may join it). The
    /// eventfds may come from a peer: while the thread is not gone it is woken again every 100 ms, and a call fd it
    /// may be blocked writing to is drained and signalled again (the reader still finds a wake-up pending).
    /// </summary>
    public bool Stop(TimeSpan? timeout = null)
    {
        var bound = timeout ?? StopTimeout;
        _stop = true;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        for (bool first = true; ; first = false)
        {
            foreach (var q in _queues)
            {
                // Wake a sleeping kick-driven thread; should the fd refuse, it wakes within its 100 ms wait anyway.
                try
                {
                    q.Kick?.Signal();
                    // Reading the counter frees a writer blocked on a full call fd; signalling again keeps a wake-up pending.
                    if (!first && q.Call is { } call && call.TryConsume(out _)) call.Signal();
                }
                catch (Exception e) when (e is LinuxException or ObjectDisposedException) { }
            }
            if (_thread.Join(TimeSpan.FromMilliseconds(100))) break;
            if (waited.Elapsed >= bound) return false;
        }
        // Requests still in the kernel may write guest memory: let them finish before anyone unmaps it or reads the position.
        foreach (var q in _queues) q.Quiesce();
        return true;
    }

    private void Run()
    {
        if (_core is int core) CpuAffinity.PinCurrentThread(core);
        // Made before the first pass, not the first time the thread sleeps with requests in the kernel: that may be
        // long after warm-up, and the device thread allocates nothing once it serves.
        if (_mode is DeviceServiceMode.KickDriven or DeviceServiceMode.Adaptive && _queues[0] is { Kick: { } kick, Io: { } io })
        {
            _kickOrCompletion = new PollSet(2);
            _kickOrCompletion.Add(kick.Fd);
            _kickOrCompletion.Add(io.CompletionFd);
        }
        if (_mode is DeviceServiceMode.Polled or DeviceServiceMode.Adaptive)
            foreach (var q in _queues) q.SuppressKicks();
        var spinner = new SpinWait();
        long idleSince = 0;
        while (!_stop)
        {
            int work = 0;
            foreach (var q in _queues)
            {
                bool wasStopped = q.Stopped;
                work += q.Process();
                if (q.Stopped && !wasStopped) _onBroken(q);
            }
            Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread());
            if (work > 0)
            {
                spinner.Reset();
                idleSince = 0;
                continue;
            }
            if (_mode == DeviceServiceMode.KickDriven) SleepUntilKick(_queues[0]);
            else if (_mode == DeviceServiceMode.Adaptive)
            {
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                if (idleSince == 0) idleSince = now;
                if (now - idleSince >= (_queues[0].InFlightIo > 0 ? _sleepWithIoAfterTicks : _sleepAfterTicks))
                {
                    SleepUntilKick(_queues[0]);
                    idleSince = 0;
                    spinner.Reset();
                }
                else if (_yieldWhenIdle) spinner.SpinOnce(sleep1Threshold: -1);     // within the poll window, as polled mode does
            }
            else if (_yieldWhenIdle)
            {
                // SpinWait escalates from spinning to Thread.Yield and Sleep(0)/Sleep(1); reset on every piece of work.
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    private void SleepUntilKick(DeviceQueue q)
    {
        if (q.Stopped || q.Kick is null)
        {
            Thread.Sleep(1);
            return;
        }
        // Ask for a kick, then look once more: a chain published before the request became visible would otherwise be missed.
        // Work found: serve it with kicks off again, or the driver would kick every batch while this thread polls.
        if (q.EnableKicksAndRecheck())
        {
            q.SuppressKicks();
            return;
        }
        q.CountSleep();
        try
        {
            if (q.InFlightIo > 0) WaitForKickOrCompletion(q);
            else if (q.Kick.Wait(100)) q.CountKick();
        }
        catch (LinuxException)
        {
            // A kick fd that cannot be waited on (a vhost-user front-end's choice): poll slowly rather than die.
            Thread.Sleep(1);
        }
        // Kicks stay off while the burst is drained and come back on just before the next sleep (rust-vmm's loop).
        q.SuppressKicks();
    }

    private PollSet? _kickOrCompletion;

    /// <summary>
    /// With requests in the kernel, sleep until the driver kicks or the backend completes something, whichever is first:
    /// a kick alone would leave finished requests unanswered until the next one.
    /// </summary>
    private void WaitForKickOrCompletion(DeviceQueue q)
    {
        var set = _kickOrCompletion!;
        var io = q.Io!;
        // Armed here, not per completion: the backend signals the first completion after this and none while we poll.
        if (!io.PrepareToSleep()) return;       // one is already waiting: serve it
        bool completionReady = false;
        try
        {
            if (set.Wait(100) > 0)
            {
                if (set.IsReadable(0) && q.Kick!.TryConsume(out _)) q.CountKick();
                completionReady = set.IsReadable(1);
            }
        }
        finally
        {
            io.Woke(completionReady);
        }
    }
}
