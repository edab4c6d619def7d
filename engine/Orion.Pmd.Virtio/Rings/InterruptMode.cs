namespace Orion.Pmd.Virtio.Rings;

/// <summary>What the driver has asked the device about used-buffer notifications; both drivers keep it privately.</summary>
internal enum InterruptMode
{
    /// <summary>Polled: no interrupts.</summary>
    Disabled,
    /// <summary>One interrupt for the next completion; with EVENT_IDX the target moves forward as completions are taken.</summary>
    Next,
    /// <summary>One interrupt at a fixed target some completions ahead (EVENT_IDX only).</summary>
    Coalesced,
}
