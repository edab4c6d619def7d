namespace Orion.Pmd.Device;

/// <summary>Counters of one device-side queue (written by its device thread, read by anyone).</summary>
public readonly record struct DeviceQueueStats(long Requests, long Batches, long KicksReceived, long InterruptsSent, long Sleeps, long MalformedRequests);
