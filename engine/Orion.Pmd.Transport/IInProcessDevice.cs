namespace Orion.Pmd.Transport;

/// <summary>
/// A device that runs inside this process (the embedded software device): the driver may serve it by hand and count
/// what its threads allocate. Only such a device implements this; a device behind a socket or a PCI function has no
/// side in this process to poll, so <see cref="IVirtioTransport"/> does not carry these members.
/// </summary>
public interface IInProcessDevice
{
    /// <summary>
    /// Manual (deterministic) mode: lets the device serve its queues once on the calling thread; returns the work done
    /// (0 when the device runs threads of its own, which serve it instead).
    /// </summary>
    int PollDevice();

    /// <summary>Bytes allocated so far by the device's own threads (0 when it has none).</summary>
    long DeviceThreadAllocatedBytes { get; }
}
