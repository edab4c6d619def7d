namespace Orion.Pmd.Virtio;

/// <summary>The device status field (VirtIO 1.1 §2.1), written by the driver during initialization.</summary>
[Flags]
public enum DeviceStatus : byte
{
    /// <summary>Reset state (writing 0 resets the device).</summary>
    Reset = 0,
    /// <summary>The guest OS has found the device and recognized it as a valid virtio device.</summary>
    Acknowledge = 1,
    /// <summary>The guest OS knows how to drive the device.</summary>
    Driver = 2,
    /// <summary>The driver is set up and ready to drive the device.</summary>
    DriverOk = 4,
    /// <summary>The driver has acknowledged all the features it understands; negotiation is complete.</summary>
    FeaturesOk = 8,
    /// <summary>The device has experienced an error from which it can't recover.</summary>
    DeviceNeedsReset = 64,
    /// <summary>Something went wrong in the guest, and it has given up on the device.</summary>
    Failed = 128,
}
