using System.Threading.Tasks.Sources;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Requests;

/// <summary>
/// One request's state, preallocated and pooled: what to do, where the data is, and how to report the end.
/// Two completion forms share it: a pooled <see cref="IValueTaskSource"/> (version-token checked, recycled
/// only after <c>GetResult</c>) and an <see cref="IBlockCompletion"/> callback for code on the reactor.
/// </summary>
internal sealed class BlockRequest : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private readonly Action<BlockRequest>? _recycle;

    public BlockRequest(int maxSegments, Action<BlockRequest>? recycle)
    {
        SegmentAddress = new ulong[maxSegments];
        SegmentLength = new uint[maxSegments];
        _recycle = recycle;
        _core.RunContinuationsAsynchronously = true;    // never run a caller's continuation on the reactor
    }

    // ---- what ----
    public BlkRequestType Type;
    public ulong Sector;
    public int SegmentCount;
    public readonly ulong[] SegmentAddress;
    public readonly uint[] SegmentLength;
    public uint DataBytes;
    public BlkDiscardWriteZeroes Range;          // DISCARD / WRITE_ZEROES
    public byte[]? IdDestination;                // GET_ID copies the id here

    // ---- bounce (a caller's own memory) ----
    public DmaBuffer? Bounce;
    public Memory<byte> BounceReadTarget;

    // ---- how to report ----
    public IBlockCompletion? Handler;
    public long Tag;
    public IoStatus Status;
    public string? FailureDetail;

    // ---- queue bookkeeping ----
    public long StartTicks;                      // when the caller submitted it (latency counts from here, across resubmissions)
    public long PlacedTicks;                     // when it last went into the ring (request timeouts count from here)
    public int Placements;                       // times placed in a ring: a request is placed at most twice
    public bool Expired;                         // found past its deadline by the timeout check
    public BlockRequest? Next;                   // intrusive link of the pending FIFO

    // ---- cancellation (the awaitable form only) ----
    public CancellationToken Cancellation;       // the caller's token, for the OperationCanceledException
    private CancellationTokenRegistration _cancelRegistration;
    private volatile bool _cancelRequested;      // set by the token's callback on any thread, read by the reactor
    public QueuePair? Queue;                     // the queue it was handed to: told when a cancel arrives

    /// <summary>Whether the caller cancelled; honoured only while the request has not reached the device.</summary>
    public bool CancelRequested => _cancelRequested;

    /// <summary>
    /// Watches <paramref name="token"/> until the request ends. Registers nothing (allocates nothing) for a token that
    /// can never be cancelled.
    /// </summary>
    public void WatchCancellation(CancellationToken token)
    {
        Cancellation = token;
        if (!token.CanBeCanceled) return;
        _cancelRegistration = token.UnsafeRegister(static s => ((BlockRequest)s!).OnCancel(), this);
    }

    private void OnCancel()
    {
        _cancelRequested = true;
        Queue?.CancelArrived();
    }

    public bool IsDeviceWritable => Type is BlkRequestType.In or BlkRequestType.GetId;

    /// <summary>Clears the per-request fields before reuse.</summary>
    public void Prepare(BlkRequestType type, ulong sector)
    {
        Type = type;
        Sector = sector;
        SegmentCount = 0;
        DataBytes = 0;
        Range = default;
        IdDestination = null;
        Bounce = null;
        BounceReadTarget = default;
        Handler = null;
        Tag = 0;
        Status = IoStatus.Ok;
        FailureDetail = null;
        Next = null;
        Placements = 0;
        Expired = false;
        Cancellation = default;
        _cancelRequested = false;
        Queue = null;
    }

    public void AddSegment(ulong guestAddress, uint length)
    {
        SegmentAddress[SegmentCount] = guestAddress;
        SegmentLength[SegmentCount] = length;
        SegmentCount++;
        DataBytes += length;
    }

    /// <summary>The awaitable form of this request.</summary>
    public ValueTask AsValueTask() => new(this, _core.Version);

    /// <summary>Completes the awaitable form (continuations go to the thread pool).</summary>
    public void CompleteAwaiter() => _core.SetResult(true);

    void IValueTaskSource.GetResult(short token)
    {
        try
        {
            _core.GetResult(token);
            if (Status == IoStatus.Canceled) throw new OperationCanceledException(Describe(), Cancellation);
            if (Status != IoStatus.Ok) throw new BlockDeviceException(Status, Describe());
        }
        finally
        {
            // Waits for a cancel callback running right now, so none can touch the request once it is reused.
            _cancelRegistration.Dispose();
            _cancelRegistration = default;
            // The device has finished with every buffer by now: the request can be reused.
            Bounce?.Dispose();
            Bounce = null;
            BounceReadTarget = default;
            _core.Reset();
            _recycle?.Invoke(this);
        }
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    public string Describe()
    {
        string what = Type switch
        {
            BlkRequestType.In => $"read of {DataBytes} bytes at sector {Sector}",
            BlkRequestType.Out => $"write of {DataBytes} bytes at sector {Sector}",
            BlkRequestType.Flush => "flush",
            BlkRequestType.GetId => "get-id",
            BlkRequestType.Discard => $"discard of {Range.SectorCount} sectors at sector {Range.Sector}",
            BlkRequestType.WriteZeroes => $"write-zeroes of {Range.SectorCount} sectors at sector {Range.Sector}",
            _ => $"request type {(uint)Type}",
        };
        string why = Status switch
        {
            IoStatus.IoError => "the device reported an I/O error (VIRTIO_BLK_S_IOERR)",
            IoStatus.Unsupported => "the device does not support it (VIRTIO_BLK_S_UNSUPP)",
            IoStatus.QueueBroken => "the queue latched broken",
            IoStatus.Aborted => "the engine stopped before it reached the device",
            IoStatus.BadStatus => "the device returned an invalid status",
            IoStatus.Canceled => "cancelled before it reached the device (nothing was sent)",
            _ => Status.ToString(),
        };
        return FailureDetail is null ? $"{what} failed: {why}" : $"{what} failed: {why}: {FailureDetail}";
    }
}
