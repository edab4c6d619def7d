namespace Orion.Perf.Workload;

/// <summary>
/// What one job does, in device terms, resolved from the fio-style options: direction mix, block size in bytes,
/// the LBA region it covers, depth, and when it stops.
/// </summary>
internal sealed record WorkloadPlan
{
    public required int BlockBytes { get; init; }
    public required int IoDepth { get; init; }
    public required long RegionStartLba { get; init; }
    public required long RegionBlocks { get; init; }          // device blocks in the region
    public required int BlocksPerIo { get; init; }
    public required bool Random { get; init; }
    public required int ReadPercent { get; init; }            // 100 = all reads, 0 = all writes
    public required long RampTicks { get; init; }             // Stopwatch ticks
    public required long RuntimeTicks { get; init; }          // 0 = no time limit
    public required bool TimeBased { get; init; }
    public required long SizeBytes { get; init; }             // bytes to transfer when not time based
    public ulong Seed { get; init; } = 0x9E3779B97F4A7C15UL;
}
