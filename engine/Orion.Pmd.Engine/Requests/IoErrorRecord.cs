using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Requests;

/// <summary>One failed request, kept for diagnosis (<see cref="BlockQueue.RecentErrors"/>, <see cref="BlockDevice.RecentErrors"/>).</summary>
/// <param name="TimeUtc">When the failure was delivered.</param>
/// <param name="Queue">The queue it ran on.</param>
/// <param name="Type">The request type.</param>
/// <param name="Sector">Its first sector (512-byte units), 0 for types without one.</param>
/// <param name="Bytes">Its data bytes.</param>
/// <param name="Status">How it ended.</param>
/// <param name="Detail">What the engine knows about why (the device's error, the timeout, the reset), when anything.</param>
public readonly record struct IoErrorRecord(DateTime TimeUtc, int Queue, BlkRequestType Type, ulong Sector, long Bytes, IoStatus Status, string? Detail);
