using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Execution;

/// <summary>
/// Executes one virtio-blk request (a popped, validated chain) against a backend and writes its status byte.
/// Out-of-range or misaligned requests get IOERR, unknown or unnegotiated types get UNSUPP, writes to a read-only
/// device get IOERR (VirtIO 1.2 §5.2.6.2). Returns the number of bytes written into the chain's writable buffers,
/// the length the device reports in the used ring.
/// </summary>
public sealed class BlkRequestExecutor
{
    private readonly IBlockBackend _backend;
    private readonly BlkDeviceSettings _settings;
    private readonly ulong _capacityBytes;
    private readonly byte[] _id = new byte[BlkConstants.IdBytes];
    private readonly BlkDiscardWriteZeroes[] _ranges;
    private readonly long _delayTicks;

    /// <summary>Creates an executor for one queue.</summary>
    public BlkRequestExecutor(IBlockBackend backend, BlkDeviceSettings settings)
    {
        _backend = backend;
        _settings = settings;
        _capacityBytes = (ulong)backend.Capacity;
        Encoding.ASCII.GetBytes(settings.Serial.AsSpan(0, Math.Min(settings.Serial.Length, BlkConstants.IdBytes)), _id);
        _ranges = new BlkDiscardWriteZeroes[Math.Max(settings.MaxDiscardSegments, settings.MaxWriteZeroesSegments)];
        _delayTicks = settings.InjectedLatency > TimeSpan.Zero
            ? Math.Max(1, (long)Math.Ceiling(settings.InjectedLatency.TotalSeconds * Stopwatch.Frequency))
            : 0;
    }

    /// <summary>The storage this executor serves.</summary>
    public IBlockBackend Backend => _backend;

    /// <summary>The settings this executor serves.</summary>
    public BlkDeviceSettings Settings => _settings;

    /// <summary>
    /// Fault injection: completes the request with <paramref name="status"/> without reading or writing any data; returns
    /// the used length (the status byte, or 0 when the chain has nowhere to put it).
    /// </summary>
    public static uint CompleteWithStatus(DescriptorChain chain, BlkStatus status)
        => ChainData.WriteStatus(chain, (byte)status) ? BlkConstants.StatusBytes : 0u;

    /// <summary>The request type in the chain's header, or null when there is no readable header.</summary>
    public static BlkRequestType? PeekType(DescriptorChain chain)
    {
        Span<byte> raw = stackalloc byte[4];
        return ChainData.Gather(chain, 0, raw) ? (BlkRequestType)MemoryMarshal.Read<uint>(raw) : null;
    }

    /// <summary>Requests whose chain was too malformed to carry a status byte.</summary>
    public long MalformedRequests { get; private set; }

    /// <summary>Requests the backend failed with an I/O error (answered with IOERR).</summary>
    public long BackendErrors { get; private set; }

    /// <summary>The last backend error's message, for diagnostics.</summary>
    public string? LastBackendError { get; private set; }

    /// <summary>Executes the request in <paramref name="chain"/>; returns the used length.</summary>
    public uint Execute(DescriptorChain chain)
    {
        if (_delayTicks != 0) SpinFor(_delayTicks);
        Span<byte> raw = stackalloc byte[BlkRequestHeader.Size];
        if (chain.WritableBytes < BlkConstants.StatusBytes || !ChainData.Gather(chain, 0, raw))
        {
            // No header or nowhere to put a status: report what we can and write nothing else.
            MalformedRequests++;
            if (ChainData.WriteStatus(chain, (byte)BlkStatus.IoError)) return 1;
            return 0;
        }
        if (!ChainData.SegmentsFit(chain, Math.Min(_settings.MaxSegmentBytes, (uint)int.MaxValue)))
        {
            // A buffer past size_max (2 GiB and more would not even fit a span): the request's IOERR, nothing touched.
            MalformedRequests++;
            ChainData.WriteStatus(chain, (byte)BlkStatus.IoError);
            return BlkConstants.StatusBytes;
        }
        var header = MemoryMarshal.Read<BlkRequestHeader>(raw);
        ulong dataOut = chain.ReadableBytes - BlkRequestHeader.Size;
        ulong dataIn = chain.WritableBytes - BlkConstants.StatusBytes;
        uint written = 0;
        BlkStatus status;
        try
        {
            status = header.Type switch
            {
                BlkRequestType.In => Read(chain, header.Sector, dataIn, out written),
                BlkRequestType.Out => Write(chain, header.Sector, dataOut),
                BlkRequestType.Flush => Flush(),
                BlkRequestType.GetId => GetId(chain, dataIn, out written),
                BlkRequestType.Discard => Ranges(chain, dataOut, discard: true),
                BlkRequestType.WriteZeroes => Ranges(chain, dataOut, discard: false),
                _ => BlkStatus.Unsupported,   // includes the 1.2 types this device does not implement
            };
        }
        catch (IOException e)
        {
            // A media error (EIO, ENOSPC on a sparse file, a file shrunk underneath) is the request's IOERR, not the
            // end of the device thread: the driver hears about it, the device keeps serving.
            RecordBackendError(e.Message);
            written = 0;
            status = BlkStatus.IoError;
        }
        ChainData.WriteStatus(chain, (byte)status);
        return written + BlkConstants.StatusBytes;
    }

    /// <summary>
    /// Decides whether the request in <paramref name="chain"/> can go to an asynchronous backend queue as it is: a read,
    /// a write or a flush that is well formed, in range and permitted. Everything else (errors, GET_ID, discard and
    /// write-zeroes, injected latency) returns false and is served by <see cref="Execute"/>, so both paths answer every
    /// request the same way and only the happy path of the three hot types leaves the device thread.
    /// </summary>
    /// <param name="chain">The popped request.</param>
    /// <param name="plan">What the backend queue is to do.</param>
    /// <param name="ranges">
    /// Whether the backend queue carries discard and write-zeroes too (<see cref="Backends.Async.IBackendQueueIo.CarriesRanges"/>):
    /// then a valid request of exactly one range is planned as well.
    /// </param>
    public bool TryPlan(DescriptorChain chain, out PlannedIo plan, bool ranges = false)
    {
        plan = default;
        if (_delayTicks != 0 || chain.WritableBytes < BlkConstants.StatusBytes) return false;
        if (!ChainData.SegmentsFit(chain, Math.Min(_settings.MaxSegmentBytes, (uint)int.MaxValue))) return false;   // Execute answers IOERR
        Span<byte> raw = stackalloc byte[BlkRequestHeader.Size];
        if (!ChainData.Gather(chain, 0, raw)) return false;
        var header = MemoryMarshal.Read<BlkRequestHeader>(raw);
        switch (header.Type)
        {
            case BlkRequestType.In:
            {
                ulong length = chain.WritableBytes - BlkConstants.StatusBytes;
                if (length == 0 || length > uint.MaxValue || !InRange(header.Sector, length)) return false;
                plan = new PlannedIo(PlannedIoKind.Read, (long)(header.Sector * BlkConstants.SectorSize), length, WriteThrough: false);
                return true;
            }
            case BlkRequestType.Out:
            {
                ulong length = chain.ReadableBytes - BlkRequestHeader.Size;
                if (_settings.ReadOnly || length == 0 || length > uint.MaxValue || !InRange(header.Sector, length)) return false;
                plan = new PlannedIo(PlannedIoKind.Write, (long)(header.Sector * BlkConstants.SectorSize), length, !_settings.WriteCache.Enabled);
                return true;
            }
            case BlkRequestType.Flush:
                if ((_settings.Negotiated & VirtioFeatures.BlkFlush) == 0) return false;
                plan = new PlannedIo(PlannedIoKind.Flush, 0, 0, WriteThrough: false);
                return true;
            case BlkRequestType.Discard or BlkRequestType.WriteZeroes when ranges:
            {
                bool discard = header.Type == BlkRequestType.Discard;
                if (ReadRanges(chain, chain.ReadableBytes - BlkRequestHeader.Size, discard, out var read) != BlkStatus.Ok || read.Length != 1) return false;
                var r = read[0];
                plan = new PlannedIo(discard ? PlannedIoKind.Discard : PlannedIoKind.WriteZeroes,
                    (long)r.Sector * BlkConstants.SectorSize, (ulong)r.SectorCount * BlkConstants.SectorSize, WriteThrough: false);
                return true;
            }
            default:
                return false;
        }
    }

    /// <summary>Counts a backend failure reported by an asynchronous queue (the request is answered with IOERR).</summary>
    internal void RecordBackendError(string message)
    {
        BackendErrors++;
        LastBackendError = message;
        lock (_recentErrors)
        {
            _recentErrors[_recentWritten % RecentErrorCapacity] = (DateTime.UtcNow, message);
            _recentWritten++;
        }
    }

    /// <summary>How many backend errors <see cref="RecentBackendErrors"/> keeps.</summary>
    public const int RecentErrorCapacity = 16;

    private readonly (DateTime TimeUtc, string Message)[] _recentErrors = new (DateTime, string)[RecentErrorCapacity];
    private long _recentWritten;        // under the lock on _recentErrors: taken on the error path and by readers only

    /// <summary>
    /// The last <see cref="RecentErrorCapacity"/> backend failures, newest first, each with the backend's own reason (for
    /// librbd the request and its errno, e.g. <c>ETIMEDOUT</c>): the driver only sees IOERR.
    /// </summary>
    public IReadOnlyList<(DateTime TimeUtc, string Message)> RecentBackendErrors
    {
        get
        {
            lock (_recentErrors)
            {
                int n = (int)Math.Min(_recentWritten, RecentErrorCapacity);
                var result = new (DateTime, string)[n];
                for (int i = 0; i < n; i++) result[i] = _recentErrors[(_recentWritten - 1 - i) % RecentErrorCapacity];
                return result;
            }
        }
    }

    /// <summary>Latency injection: spins on the device thread, neither sleeping (too coarse) nor allocating.</summary>
    internal static void SpinFor(long ticks)
    {
        long until = Stopwatch.GetTimestamp() + ticks;
        while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(8);
    }

    private bool InRange(ulong sector, ulong bytes)
    {
        int block = _settings.LogicalBlockSize;
        if (bytes % (ulong)block != 0) return false;
        if (sector > ulong.MaxValue / BlkConstants.SectorSize) return false;
        ulong offset = sector * BlkConstants.SectorSize;
        if (offset % (ulong)block != 0) return false;
        return offset <= _capacityBytes && bytes <= _capacityBytes - offset;
    }

    private struct TransferState
    {
        public IBlockBackend Backend;
        public long Offset;
    }

    private BlkStatus Read(DescriptorChain chain, ulong sector, ulong length, out uint written)
    {
        written = 0;
        if (length == 0 || !InRange(sector, length)) return BlkStatus.IoError;
        var state = new TransferState { Backend = _backend, Offset = (long)(sector * BlkConstants.SectorSize) };
        ChainData.ForEachWritable(chain, length, ref state,
            static (ref TransferState s, ulong position, Span<byte> bytes) => s.Backend.Read(s.Offset + (long)position, bytes));
        written = (uint)length;
        return BlkStatus.Ok;
    }

    private BlkStatus Write(DescriptorChain chain, ulong sector, ulong length)
    {
        if (_settings.ReadOnly) return BlkStatus.IoError;
        if (length == 0 || !InRange(sector, length)) return BlkStatus.IoError;
        var state = new TransferState { Backend = _backend, Offset = (long)(sector * BlkConstants.SectorSize) };
        ChainData.ForEachReadable(chain, BlkRequestHeader.Size, length, ref state,
            static (ref TransferState s, ulong position, Span<byte> bytes) => s.Backend.Write(s.Offset + (long)position, bytes));
        if (!_settings.WriteCache.Enabled) _backend.Flush();     // write-through: durable before it completes
        return BlkStatus.Ok;
    }

    private BlkStatus Flush()
    {
        // A bit test, not Enum.HasFlag: unoptimized (tier-0) code boxes HasFlag's operands, an allocation per request.
        if ((_settings.Negotiated & VirtioFeatures.BlkFlush) == 0) return BlkStatus.Unsupported;
        _backend.Flush();
        return BlkStatus.Ok;
    }

    private BlkStatus GetId(DescriptorChain chain, ulong length, out uint written)
    {
        written = (uint)Math.Min(length, (ulong)BlkConstants.IdBytes);
        var state = _id;
        ChainData.ForEachWritable(chain, written, ref state,
            static (ref byte[] id, ulong position, Span<byte> bytes) => id.AsSpan((int)position, bytes.Length).CopyTo(bytes));
        return BlkStatus.Ok;
    }

    private BlkStatus Ranges(DescriptorChain chain, ulong length, bool discard)
    {
        var status = ReadRanges(chain, length, discard, out var ranges);
        if (status != BlkStatus.Ok) return status;
        foreach (ref readonly var r in ranges)
        {
            long offset = (long)r.Sector * BlkConstants.SectorSize;
            long bytes = (long)r.SectorCount * BlkConstants.SectorSize;
            if (discard) _backend.Discard(offset, bytes);
            else _backend.WriteZeroes(offset, bytes);
        }
        return BlkStatus.Ok;
    }

    /// <summary>Reads and checks every range of a DISCARD or WRITE_ZEROES request before any is touched, so a bad request changes nothing.</summary>
    private BlkStatus ReadRanges(DescriptorChain chain, ulong length, bool discard, out ReadOnlySpan<BlkDiscardWriteZeroes> read)
    {
        read = default;
        var feature = discard ? VirtioFeatures.BlkDiscard : VirtioFeatures.BlkWriteZeroes;
        if ((_settings.Negotiated & feature) == 0) return BlkStatus.Unsupported;
        if (_settings.ReadOnly) return BlkStatus.IoError;
        uint maxSegments = discard ? _settings.MaxDiscardSegments : _settings.MaxWriteZeroesSegments;
        uint maxSectors = discard ? _settings.MaxDiscardSectors : _settings.MaxWriteZeroesSectors;
        if (length == 0 || length % BlkDiscardWriteZeroes.Size != 0) return BlkStatus.IoError;
        ulong count = length / BlkDiscardWriteZeroes.Size;
        if (count > maxSegments) return BlkStatus.IoError;

        var ranges = _ranges.AsSpan(0, (int)count);
        if (!ChainData.Gather(chain, BlkRequestHeader.Size, MemoryMarshal.AsBytes(ranges))) return BlkStatus.IoError;
        foreach (ref readonly var r in ranges)
        {
            if (discard && (r.Flags & BlkDiscardWriteZeroes.FlagUnmap) != 0) return BlkStatus.Unsupported;   // §5.2.6.2
            if ((r.Flags & ~BlkDiscardWriteZeroes.FlagUnmap) != 0) return BlkStatus.Unsupported;
            if (r.SectorCount > maxSectors) return BlkStatus.IoError;
            if (!InRange(r.Sector, (ulong)r.SectorCount * BlkConstants.SectorSize)) return BlkStatus.IoError;
        }
        read = ranges;
        return BlkStatus.Ok;
    }
}
