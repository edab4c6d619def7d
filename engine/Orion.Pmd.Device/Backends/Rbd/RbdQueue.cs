using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Orion.Pmd.Device.Backends.Async;
using Orion.Pmd.Device.Backends.Rbd.Interop;
using Orion.Pmd.Device.Execution;
using Orion.Pmd.Linux;
using Orion.Pmd.Reactors;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Backends.Rbd;

/// <summary>
/// One device queue's asynchronous channel to an RBD image: each popped read, write, flush, discard or write-zeroes
/// becomes one <c>rbd_aio_*</c> call (reads and writes as <c>rbd_aio_readv</c>/<c>writev</c> straight from and into
/// guest memory), as many in flight as the virtqueue holds. librbd completes them on its own threads: the completion
/// callback stores the result and puts the slot's index on a lock-free queue, so the device thread is never blocked
/// and never takes a lock; it reaps the queue on its next pass, with no system call on either side. Only a device
/// thread (or reactor) that is about to sleep arms a wake-up (<see cref="PrepareToSleep"/>): the first completion after
/// that signals the eventfd it sleeps on, once, and the completions that follow until it wakes signal nothing — one
/// wake-up per sleep, never one per completion.
/// </summary>
/// <remarks>
/// Completions are pushed to the used ring in the order they finish. Flush ordering is the io_uring queue's argument:
/// a write's used element is pushed only after librbd completed it, so every write the driver saw complete before it
/// made a FLUSH available was finished by librbd before <c>rbd_aio_flush</c> was called. librbd holds no dirty data
/// unless the device runs its cache write-back (<see cref="RbdCacheMode.WriteBack"/>): then a completed write may sit in
/// librbd's cache until a FLUSH, and a write the driver wants written through (the device's cache turned off through
/// CONFIG_WCE) is followed by <c>rbd_aio_flush</c> before it completes.
/// librbd cannot cancel a request: <see cref="Drain"/> waits until each one completes, which librados bounds by its
/// operation timeout (<see cref="RbdBackendOptions.RequestTimeout"/>).
/// </remarks>
internal sealed unsafe class RbdQueue : IBackendQueueIo
{
    private const int EOpNotSupp = 95;

    private sealed class Slot
    {
        public DescriptorChain Chain = null!;
        public ChainIovecs Iov;
        public PlannedIoKind Kind;
        public long Offset;
        public ulong Length;
        public bool FlushAfter;         // a write-through write to a write-back librbd: flushed before it completes
        public long Result;             // written by librbd's thread before the index is published
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SlotArgument
    {
        public nint Queue;              // GCHandle of this queue
        public int Index;
    }

    private readonly RbdBackend _backend;
    private readonly nint _image;
    private readonly BlkRequestExecutor _executor;
    private readonly Slot[] _slots;
    private readonly int[] _free;
    private int _freeCount;
    private readonly MpscRing<int> _done;
    private readonly EventFd _completions = new();
    private volatile EventFd? _signal;
    private volatile bool _draining;
    private int _armed;                 // 1: the owner sleeps (or is about to) and the next completion must wake it
    private long _wakeups;
    private GCHandle _self;
    private readonly SlotArgument* _arguments;
    private long _started, _fallbacks;
    private bool _disposed;

    public RbdQueue(RbdBackend backend, nint image, int depth, int maxSegments, BlkRequestExecutor executor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _backend = backend;
        _image = image;
        _executor = executor;
        _slots = new Slot[depth];
        _free = new int[depth];
        _done = new MpscRing<int>(depth);           // every slot completes at most once per start: it never fills
        _self = GCHandle.Alloc(this);
        _arguments = (SlotArgument*)NativeMemory.AllocZeroed((nuint)depth, (nuint)sizeof(SlotArgument));
        for (int i = 0; i < depth; i++)
        {
            _slots[i] = new Slot { Chain = new DescriptorChain(maxSegments) };
            _free[i] = depth - 1 - i;
            _arguments[i] = new SlotArgument { Queue = GCHandle.ToIntPtr(_self), Index = i };
        }
        _freeCount = depth;
    }

    public bool HasFreeSlot => _freeCount > 0;

    public DescriptorChain NextChain => _slots[_free[_freeCount - 1]].Chain;

    public int InFlight => _slots.Length - _freeCount;

    public bool CarriesRanges => true;

    public int CompletionFd => _completions.Fd;

    public bool HasCompletions => !_done.IsEmpty;

    public void SignalCompletionsTo(EventFd eventFd) => _signal = eventFd;

    public QueueIoCounters Counters => new(Volatile.Read(ref _started), 0, Volatile.Read(ref _fallbacks), 0, Wakeups: Interlocked.Read(ref _wakeups));

    /// <summary>
    /// Arms the wake-up before the owner sleeps, then looks once more (Dekker with <see cref="Completed"/>: the flag is
    /// raised with a full fence before the queue is read, and a completion is published before the flag is read, so
    /// either this sees the completion or the completion sees the flag and signals).
    /// </summary>
    public bool PrepareToSleep()
    {
        Interlocked.Exchange(ref _armed, 1);
        return _done.IsEmpty;
    }

    /// <summary>
    /// Disarms after the sleep and resets the eventfd if the sleep found it readable. A completion that took the flag
    /// just before this may signal after it: the next sleep then returns at once and resets it (one spurious wake-up).
    /// </summary>
    public void Woke(bool completionFdReadable)
    {
        Volatile.Write(ref _armed, 0);
        if (completionFdReadable) _completions.TryConsume(out _);
    }

    public bool TryStart(in PlannedIo plan)
    {
        int index = _free[_freeCount - 1];
        var slot = _slots[index];
        slot.Kind = plan.Kind;
        slot.Offset = plan.Offset;
        slot.Length = plan.Length;
        // The driver turned the device's cache off (CONFIG_WCE) while librbd caches writes: flush each before completing it.
        slot.FlushAfter = plan.Kind == PlannedIoKind.Write && plan.WriteThrough && _backend.HasVolatileCache;
        int count = 0;
        if (plan.Kind is PlannedIoKind.Read or PlannedIoKind.Write)
        {
            count = slot.Iov.Build(slot.Chain, plan, 1, 1);
            if (count < 0) return Fallback();
        }
        int r = LibRbd.rbd_aio_create_completion((nint)(_arguments + index), Callback, out nint completion);
        if (r < 0) return Fallback();
        if (plan.Kind == PlannedIoKind.Flush) _backend.CountFlush();
        ulong offset = (ulong)plan.Offset;
        r = plan.Kind switch
        {
            PlannedIoKind.Read => LibRbd.rbd_aio_readv(_image, slot.Iov.Address, count, offset, completion),
            PlannedIoKind.Write => LibRbd.rbd_aio_writev(_image, slot.Iov.Address, count, offset, completion),
            PlannedIoKind.Flush => LibRbd.rbd_aio_flush(_image, completion),
            PlannedIoKind.Discard => LibRbd.rbd_aio_discard(_image, offset, plan.Length, completion),
            _ => LibRbd.rbd_aio_write_zeroes(_image, offset, (nuint)plan.Length, completion, 0, 0),
        };
        if (r < 0)
        {
            // Refused before it started (librbd checks arguments and the image's state): the synchronous path answers it.
            LibRbd.rbd_aio_release(completion);
            return Fallback();
        }
        _freeCount--;
        Volatile.Write(ref _started, _started + 1);
        return true;
    }

    private static delegate* unmanaged[Cdecl]<nint, nint, void> Callback => &OnComplete;

    /// <summary>
    /// The second half of a write-through write to a write-back librbd: the write is in librbd's cache, now
    /// <c>rbd_aio_flush</c> writes it out, and the request completes with the flush. False (the slot's result then
    /// holds librbd's errno) when librbd refused to start it.
    /// </summary>
    private bool TryStartFlushAfterWrite(int index, Slot slot)
    {
        slot.FlushAfter = false;
        int r = LibRbd.rbd_aio_create_completion((nint)(_arguments + index), Callback, out nint completion);
        if (r >= 0)
        {
            _backend.CountFlush();
            r = LibRbd.rbd_aio_flush(_image, completion);
            if (r >= 0) return true;
            LibRbd.rbd_aio_release(completion);
        }
        slot.Result = r;
        return false;
    }

    private bool Fallback()
    {
        Volatile.Write(ref _fallbacks, _fallbacks + 1);
        return false;
    }

    /// <summary>
    /// librbd's completion callback, on one of its threads: keep the result, hand the slot to the device thread, wake
    /// it. Nothing here may throw into librbd.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnComplete(nint completion, nint argument)
    {
        try
        {
            var a = (SlotArgument*)argument;
            if (GCHandle.FromIntPtr(a->Queue).Target is RbdQueue queue)
                queue.Completed(a->Index, (long)LibRbd.rbd_aio_get_return_value(completion));
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or LinuxException)
        {
            // A queue torn down under a completion cannot happen (Dispose drains first); nothing to hand back then.
        }
        finally
        {
            LibRbd.rbd_aio_release(completion);
        }
    }

    private void Completed(int index, long result)
    {
        _slots[index].Result = result;
        while (!_done.TryEnqueue(index)) Thread.SpinWait(1);     // cannot stay full: it holds a slot for every request
        // The exchange is a full fence: the index is published before the flag is read (see PrepareToSleep). Only the
        // first completion after the owner armed signals; a polling owner reaps without any system call.
        if (Interlocked.Exchange(ref _armed, 0) == 0) return;
        Interlocked.Increment(ref _wakeups);
        (_signal is { } signal && !_draining ? signal : _completions).Signal();
    }

    public int Submit() => 0;       // librbd dispatches each request as it is started

    public int Reap(IDeviceQueue ring) => ReapInto(ring);

    private int ReapInto(IDeviceQueue? ring)
    {
        if (_done.IsEmpty) return 0;
        int completed = 0;
        while (_done.TryDequeue(out int index))
        {
            Finish(index, ring);
            completed++;
        }
        return completed;
    }

    private void Finish(int index, IDeviceQueue? ring)
    {
        var slot = _slots[index];
        long result = Volatile.Read(ref slot.Result);
        if (slot.FlushAfter && result >= 0)
        {
            if (TryStartFlushAfterWrite(index, slot)) return;      // still in flight: it completes with its flush
            result = slot.Result;
        }
        var status = BlkStatus.Ok;
        if (result < 0)
        {
            int errno = (int)-result;
            _executor.RecordBackendError($"librbd {Describe(slot)} of {_backend.Description} failed: {Errno.GetName(errno) ?? "errno " + errno}");
            status = errno == EOpNotSupp ? BlkStatus.Unsupported : BlkStatus.IoError;
        }
        if (ring is not null)
        {
            ChainData.WriteStatus(slot.Chain, (byte)status);
            uint data = status == BlkStatus.Ok && slot.Kind == PlannedIoKind.Read ? (uint)slot.Length : 0;
            ring.PushUsed(slot.Chain.Head, data + BlkConstants.StatusBytes);
        }
        _free[_freeCount++] = index;
    }

    private static string Describe(Slot slot) => slot.Kind switch
    {
        PlannedIoKind.Flush => "flush",
        PlannedIoKind.Read => $"read of {slot.Length} bytes at offset {slot.Offset}",
        PlannedIoKind.Write => $"write of {slot.Length} bytes at offset {slot.Offset}",
        PlannedIoKind.Discard => $"discard of {slot.Length} bytes at offset {slot.Offset}",
        _ => $"write-zeroes of {slot.Length} bytes at offset {slot.Offset}",
    };

    /// <summary>
    /// Waits until librbd has completed every request of this queue (it cannot cancel one; librados fails what an
    /// outage holds past its operation timeout). <paramref name="cancelAfter"/> does not apply.
    /// </summary>
    public bool Drain(IDeviceQueue? ring, TimeSpan cancelAfter, TimeSpan grace)
    {
        // librbd cannot cancel an aio: the whole bound is a wait for its callbacks.
        long deadline = Stopwatch.GetTimestamp() + (long)((cancelAfter + grace).TotalSeconds * Stopwatch.Frequency);
        _draining = true;
        try
        {
            while (InFlight > 0)
            {
                ReapInto(ring);
                if (InFlight == 0) break;
                if (Stopwatch.GetTimestamp() > deadline) return false;
                if (PrepareToSleep())
                {
                    _completions.Wait(50);      // consumes the signal itself
                    Woke(false);
                }
            }
            return true;
        }
        finally
        {
            _draining = false;
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        // A callback still due would look at the handle, the arguments and the iovecs: then nothing is freed (a leak).
        if (!Drain(null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5))) return;
        _disposed = true;
        // No request is in flight, so no callback can still look at the handle, the arguments or the iovecs.
        _self.Free();
        NativeMemory.Free(_arguments);
        foreach (var s in _slots) s.Iov.Free();
        _completions.Dispose();
    }
}
