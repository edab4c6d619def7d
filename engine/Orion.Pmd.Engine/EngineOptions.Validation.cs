using Orion.Pmd.Reactors;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine;

public sealed partial record EngineOptions
{
    /// <summary>
    /// The configuration section <see cref="EngineOptions"/> is conventionally bound from
    /// (<c>configuration.GetSection(EngineOptions.SectionName).Get&lt;EngineOptions&gt;()</c>): every property binds
    /// by name, times as <c>hh:mm:ss</c> or <c>d.hh:mm:ss.fffffff</c>, enums by name, cores as an array.
    /// </summary>
    public const string SectionName = "OrionPmd";

    /// <summary>
    /// Checks every option on its own and against the others, before anything is started, and throws one
    /// <see cref="ArgumentException"/> naming each wrong option, its value and what would be right. Options bound from
    /// configuration should be validated at the host's start (the engine validates again when it starts).
    /// </summary>
    /// <exception cref="ArgumentException">At least one option is invalid; the message lists them all.</exception>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count == 0) return;
        throw new ArgumentException(problems.Count == 1
            ? $"invalid engine option: {problems[0]}"
            : $"{problems.Count} invalid engine options:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", problems));
    }

    /// <summary>Every problem with these options, one line each; empty when they are valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        if (string.IsNullOrWhiteSpace(Device)) p.Add($"{nameof(Device)} is empty: give mem:SIZE, null:SIZE, file:PATH, rbd:POOL/IMAGE or vhost-user:SOCKET");
        else if (!DeviceString.TryParse(Device, out _, out string? deviceError)) p.Add($"{nameof(Device)} '{Device}': {deviceError}");
        if (Queues < 1) p.Add($"{nameof(Queues)} = {Queues}: at least 1 queue is needed");
        if (Ring == RingFormat.Split ? !SplitRingLayout.IsValidSize(QueueSize) : !PackedRingLayout.IsValidSize(QueueSize))
            p.Add(Ring == RingFormat.Split
                ? $"{nameof(QueueSize)} = {QueueSize}: a split queue size must be a power of two from 1 to 32768 (256 is the default)"
                : $"{nameof(QueueSize)} = {QueueSize}: a packed queue size must be from 1 to 32768 (256 is the default)");
        if (MaxSegments is < 1 or > 1024) p.Add($"{nameof(MaxSegments)} = {MaxSegments}: 1 to 1024 buffers per request");
        if (MaxBufferBytes < 4096 || (MaxBufferBytes & (MaxBufferBytes - 1)) != 0)
            p.Add($"{nameof(MaxBufferBytes)} = {MaxBufferBytes}: a power of two of at least 4096 bytes (1 MiB is the default)");
        if (BufferMemoryBytes < MaxBufferBytes)
            p.Add($"{nameof(BufferMemoryBytes)} = {BufferMemoryBytes}: must hold at least one {MaxBufferBytes}-byte buffer ({nameof(MaxBufferBytes)})");
        if (ReactorCores is { } rc && rc.Count < Queues)
            p.Add($"{nameof(ReactorCores)} lists {rc.Count} core(s) for {Queues} queue(s): give one core per queue (extra cores go unused), or leave it out");
        if (ReactorCores is { } rc2 && rc2.Distinct().Count() != rc2.Count)
            p.Add($"{nameof(ReactorCores)} [{string.Join(",", rc2)}] names a core twice: each reactor spins on a core of its own");
        if (ReactorCores is { } rc3 && DeviceCores is { } dc && rc3.Intersect(dc).Any())
            p.Add($"{nameof(ReactorCores)} and {nameof(DeviceCores)} share core(s) {string.Join(",", rc3.Intersect(dc))}: a reactor and a device thread on one core starve each other");
        if (DeviceThreads < 1) p.Add($"{nameof(DeviceThreads)} = {DeviceThreads}: the embedded device needs at least 1 thread");
        if (InterruptCoalescing < 1) p.Add($"{nameof(InterruptCoalescing)} = {InterruptCoalescing}: 1 (every completion) or more");
        if (AdaptiveIdleBudget < TimeSpan.Zero) p.Add($"{nameof(AdaptiveIdleBudget)} = {AdaptiveIdleBudget}: must not be negative");
        if (DrainTimeout < TimeSpan.Zero) p.Add($"{nameof(DrainTimeout)} = {DrainTimeout}: must not be negative");
        if (RequestTimeout < TimeSpan.Zero && RequestTimeout != Timeout.InfiniteTimeSpan)
            p.Add($"{nameof(RequestTimeout)} = {RequestTimeout}: positive, or zero / infinite to turn time-outs off");
        if (SubmissionRingSize < 1 || SubmissionRingSize > MpscRing<object>.MaxCapacity)
            p.Add($"{nameof(SubmissionRingSize)} = {SubmissionRingSize}: 1 to {MpscRing<object>.MaxCapacity}");
        if (QueueResetsBeforeDeviceReset < 1)
            p.Add($"{nameof(QueueResetsBeforeDeviceReset)} = {QueueResetsBeforeDeviceReset}: at least 1 queue reset before a device reset");
        if (QueueResetWindow < TimeSpan.Zero)
            p.Add($"{nameof(QueueResetWindow)} = {QueueResetWindow}: must not be negative (zero never escalates)");
        if (MaxDeviceResetsWithoutProgress < 1)
            p.Add($"{nameof(MaxDeviceResetsWithoutProgress)} = {MaxDeviceResetsWithoutProgress}: at least 1 device reset before giving up");
        if (!Enum.IsDefined(Ring)) p.Add($"{nameof(Ring)} = {Ring}: Split or Packed");
        if (!Enum.IsDefined(Notifications)) p.Add($"{nameof(Notifications)} = {Notifications}: Polled, Adaptive, Interrupt, Hybrid or Auto");
        if (!Enum.IsDefined(Threading)) p.Add($"{nameof(Threading)} = {Threading}: Threads or Manual");
        if (!Enum.IsDefined(TimeoutPolicy)) p.Add($"{nameof(TimeoutPolicy)} = {TimeoutPolicy}: Fail or RetryOnce");
        if (VhostUser is null) p.Add($"{nameof(VhostUser)} is null: leave it out for the defaults");
        else
        {
            if (VhostUser.ConnectTimeout <= TimeSpan.Zero) p.Add($"{nameof(VhostUser)}.{nameof(VhostUser.ConnectTimeout)} = {VhostUser.ConnectTimeout}: must be positive");
            if (VhostUser.ReplyTimeout <= TimeSpan.Zero) p.Add($"{nameof(VhostUser)}.{nameof(VhostUser.ReplyTimeout)} = {VhostUser.ReplyTimeout}: must be positive");
            if (VhostUser.ReconnectTimeout < TimeSpan.Zero) p.Add($"{nameof(VhostUser)}.{nameof(VhostUser.ReconnectTimeout)} = {VhostUser.ReconnectTimeout}: zero (never reconnect) or positive");
        }
        return p;
    }
}
