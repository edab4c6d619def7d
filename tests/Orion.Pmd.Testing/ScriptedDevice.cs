using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Testing;

/// <summary>
/// The device side of one queue, driven step by step by a test on its own thread (no device thread): pops the chains
/// the driver made available and completes them well (a status byte in the last writable buffer, the used length)
/// or badly (a used entry naming another id, a second completion, a dropped request), in either ring format.
/// </summary>
public sealed class ScriptedDevice(IDeviceQueue ring, int maxSegments = 64)
{
    private readonly DescriptorChain _chain = new(maxSegments);

    /// <summary>The device ring it drives.</summary>
    public IDeviceQueue Ring => ring;

    /// <summary>The chain popped last (valid after <see cref="TryPop"/> returned true).</summary>
    public DescriptorChain Last => _chain;

    /// <summary>Pops and validates the next available chain into <see cref="Last"/>; false when none is there or the ring broke.</summary>
    public bool TryPop() => ring.TryPopAvail(_chain);

    /// <summary>
    /// Completes the chain popped last: writes <paramref name="status"/> into the last byte of its last writable buffer
    /// (a virtio-blk status byte) and publishes a used entry of <paramref name="usedLength"/> (default: every writable
    /// byte). Returns whether the driver asked to be notified.
    /// </summary>
    public unsafe bool Complete(byte status = 0, uint? usedLength = null)
    {
        for (int i = _chain.Count - 1; i >= 0; i--)
        {
            var s = _chain.Segments[i];
            if (!s.DeviceWritable || s.Length == 0) continue;
            ((byte*)s.Host)[s.Length - 1] = status;
            break;
        }
        ring.PushUsed(_chain.Head, usedLength ?? (uint)_chain.WritableBytes);
        return ring.PublishUsed();
    }

    /// <summary>Pops and completes every available chain with <paramref name="status"/>; returns how many.</summary>
    public int CompleteAll(byte status = 0)
    {
        int n = 0;
        while (TryPop())
        {
            Complete(status);
            n++;
        }
        return n;
    }

    /// <summary>
    /// Hostile: completes the chain popped last with a used entry that reports <paramref name="reportedId"/> and
    /// <paramref name="length"/>, unchecked; packed, with <paramref name="backwardsWrap"/> its bits carry the previous
    /// lap's wrap counter. Visible at once.
    /// </summary>
    public bool CompleteAs(uint reportedId, uint length, bool backwardsWrap = false)
    {
        Faults.PushUsedRaw(_chain.Head, reportedId, length, backwardsWrap);
        return ring.PublishUsed();
    }

    /// <summary>Hostile: forgets the chain popped last without completing it (the driver keeps it in flight).</summary>
    public void Drop() => Faults.AbandonChain(_chain.Head);

    private IDeviceQueueFaults Faults => ring as IDeviceQueueFaults
        ?? throw new NotSupportedException($"{ring.GetType().Name} offers no fault hooks");
}
