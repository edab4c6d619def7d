using Orion.Pmd.Engine.Requests;

namespace Orion.Perf.Workload;

/// <summary>One failed I/O as the workload saw it.</summary>
/// <param name="Direction">Read, write or trim.</param>
/// <param name="Offset">Byte offset on the device.</param>
/// <param name="Bytes">Length in bytes.</param>
/// <param name="Status">How it ended.</param>
/// <param name="ReadBack">Whether it was a read of the verify read-back after the writes.</param>
/// <param name="Ticks">When its completion was delivered (Stopwatch ticks), to order failures of several workloads.</param>
internal readonly record struct FailedIo(IoDirection Direction, long Offset, int Bytes, IoStatus Status, bool ReadBack, long Ticks = 0);

/// <summary>
/// What became of every I/O a workload submitted, kept on its reactor without allocating: each submission gets a
/// tag (request slot and a per-slot generation), so a completion that arrives for an I/O no longer in flight — a
/// second completion of the same I/O — is caught and counted rather than taken for another I/O's. Also counts
/// failures by status and keeps the first one. Single writer (the reactor); read once the workload is done.
/// </summary>
internal sealed class IoOutcomes
{
    private readonly bool[] _inFlight;
    private readonly int[] _generation;
    private readonly long[] _failedByStatus = new long[256];
    private long _submitted, _completed, _doubled, _failed;

    /// <param name="slots">Request slots (the iodepth), fewer than 65 536.</param>
    public IoOutcomes(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slots, 0xFFFF);
        _inFlight = new bool[slots];
        _generation = new int[slots];
    }

    /// <summary>I/Os handed to the queue.</summary>
    public long Submitted => Volatile.Read(ref _submitted);

    /// <summary>I/Os that came back, once each.</summary>
    public long Completed => Volatile.Read(ref _completed);

    /// <summary>Completions for an I/O that had already completed (or was never submitted): must stay 0.</summary>
    public long Doubled => Volatile.Read(ref _doubled);

    /// <summary>I/Os that came back with a status other than OK.</summary>
    public long Failed => Volatile.Read(ref _failed);

    /// <summary>I/Os submitted and not (yet) back.</summary>
    public long Outstanding => Submitted - Completed;

    /// <summary>The first failure, or null.</summary>
    public FailedIo? First { get; private set; }

    /// <summary>The tag to submit slot <paramref name="slot"/>'s next I/O with.</summary>
    public long NextTag(int slot) => ((long)(_generation[slot] + 1) << 16) | (uint)slot;

    /// <summary>The I/O tagged <see cref="NextTag"/> was accepted by the queue.</summary>
    public void OnSubmitted(int slot)
    {
        _generation[slot]++;
        _inFlight[slot] = true;
        Volatile.Write(ref _submitted, _submitted + 1);
    }

    /// <summary>
    /// A completion for <paramref name="tag"/> arrived: true with its slot when that I/O was in flight; false (and
    /// counted in <see cref="Doubled"/>) when it was not — the caller must then ignore the completion.
    /// </summary>
    public bool TryComplete(long tag, out int slot)
    {
        slot = (int)(tag & 0xFFFF);
        int generation = (int)(tag >> 16);
        if ((uint)slot >= (uint)_inFlight.Length || !_inFlight[slot] || _generation[slot] != generation)
        {
            Volatile.Write(ref _doubled, _doubled + 1);
            return false;
        }
        _inFlight[slot] = false;
        Volatile.Write(ref _completed, _completed + 1);
        return true;
    }

    /// <summary>Counts a failed I/O; the first one is kept.</summary>
    public void Fail(in FailedIo io)
    {
        Volatile.Write(ref _failed, _failed + 1);
        _failedByStatus[(byte)io.Status]++;
        First ??= io;
    }

    /// <summary>Failures by status (only statuses that occurred), read once the workload is done.</summary>
    public IEnumerable<(IoStatus Status, long Count)> FailedByStatus()
    {
        for (int s = 0; s < _failedByStatus.Length; s++)
            if (_failedByStatus[s] > 0) yield return ((IoStatus)s, _failedByStatus[s]);
    }
}
