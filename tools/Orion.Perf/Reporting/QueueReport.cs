namespace Orion.Perf.Reporting;

/// <summary>Engine counters for one queue pair over the measured window.</summary>
public sealed class QueueReport
{
    /// <summary>Queue index.</summary>
    public int Queue { get; set; }

    /// <summary>The core the queue's reactor ran on; null when not pinned.</summary>
    public int? Core { get; set; }

    /// <summary>Requests completed.</summary>
    public long Requests { get; set; }

    /// <summary>Bytes moved.</summary>
    public long Bytes { get; set; }

    /// <summary>Submit batches (one avail-index publication each).</summary>
    public long Batches { get; set; }

    /// <summary>Notifications sent to the device (eventfd writes).</summary>
    public long Kicks { get; set; }

    /// <summary>Completion polls.</summary>
    public long Polls { get; set; }

    /// <summary>Completion polls that found nothing.</summary>
    public long IdlePolls { get; set; }

    /// <summary>Requests that completed with an error.</summary>
    public long Errors { get; set; }

    /// <summary>Requests that outlived the engine's request timeout.</summary>
    public long Timeouts { get; set; }

    /// <summary>Times the engine reset the queue by itself (a timeout or a broken ring).</summary>
    public long QueueResets { get; set; }

    /// <summary>Requests placed once more on a fresh ring (after a reset or a reconnect).</summary>
    public long Resubmitted { get; set; }

    /// <summary>Requests whose data went through a bounce buffer rather than zero-copy.</summary>
    public long Bounces { get; set; }

    /// <summary>DMA buffers in use at the end of the window.</summary>
    public long BufferPoolInUse { get; set; }

    /// <summary>DMA buffers in the pool.</summary>
    public long BufferPoolCapacity { get; set; }

    /// <summary>Fraction (0..1) of the reactor's time spent in pollers that found no work.</summary>
    public double ReactorIdleFraction { get; set; }

    /// <summary>Doorbells the device said it did not need.</summary>
    public long KicksSuppressed { get; set; }

    /// <summary>Times the reactor slept (adaptive and interrupt modes).</summary>
    public long Sleeps { get; set; }

    /// <summary>Times the reactor armed a device interrupt before sleeping with requests in flight.</summary>
    public long InterruptsArmed { get; set; }

    /// <summary>
    /// Mean time from a wake-up signal by a submitter or message to the reactor running again, in nanoseconds (0 when
    /// none was measured). Wake-ups by a completion's call eventfd are counted in <see cref="Sleeps"/> but not timed.
    /// </summary>
    public double MeanWakeLatencyNs { get; set; }

    /// <summary>Kicks per request: 0 means the device never needed waking.</summary>
    public double KicksPerIo => Requests == 0 ? 0 : (double)Kicks / Requests;

    /// <summary>
    /// The reactor's counted system calls on the data path: each kick is an eventfd write and each sleep a blocking
    /// wait; the device's own I/O (a file backend) runs on the device's threads and is not counted here.
    /// </summary>
    public long Syscalls => Kicks + Sleeps;

    /// <summary><see cref="Syscalls"/> per request.</summary>
    public double SyscallsPerIo => Requests == 0 ? 0 : (double)Syscalls / Requests;

    /// <summary>Completion polls per request.</summary>
    public double PollsPerIo => Requests == 0 ? 0 : (double)Polls / Requests;

    /// <summary>Average requests per submit batch.</summary>
    public double RequestsPerBatch => Batches == 0 ? 0 : (double)Requests / Batches;
}
