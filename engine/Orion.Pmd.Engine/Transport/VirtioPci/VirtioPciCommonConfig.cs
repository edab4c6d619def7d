namespace Orion.Pmd.Engine.Transport.VirtioPci;

/// <summary>Register offsets of <c>struct virtio_pci_common_cfg</c> (VirtIO 1.2 §4.1.4.3), all little-endian.</summary>
public static class VirtioPciCommonConfig
{
    /// <summary>le32: which 32-bit half of the device features <see cref="DeviceFeature"/> shows.</summary>
    public const int DeviceFeatureSelect = 0x00;
    /// <summary>le32, read-only: the selected half of the device features.</summary>
    public const int DeviceFeature = 0x04;
    /// <summary>le32: which half of the driver features <see cref="DriverFeature"/> takes.</summary>
    public const int DriverFeatureSelect = 0x08;
    /// <summary>le32: the selected half of the driver features.</summary>
    public const int DriverFeature = 0x0C;
    /// <summary>le16: the MSI-X vector for configuration changes.</summary>
    public const int ConfigMsixVector = 0x10;
    /// <summary>le16, read-only: the number of queues.</summary>
    public const int NumQueues = 0x12;
    /// <summary>u8: the device status.</summary>
    public const int DeviceStatus = 0x14;
    /// <summary>u8, read-only: changes whenever the device configuration changes.</summary>
    public const int ConfigGeneration = 0x15;
    /// <summary>le16: the queue the queue_* registers address.</summary>
    public const int QueueSelect = 0x16;
    /// <summary>le16: the selected queue's size (the device's maximum on reset; the driver may lower it).</summary>
    public const int QueueSize = 0x18;
    /// <summary>le16: the selected queue's MSI-X vector.</summary>
    public const int QueueMsixVector = 0x1A;
    /// <summary>le16: 1 enables the selected queue.</summary>
    public const int QueueEnable = 0x1C;
    /// <summary>le16, read-only: the selected queue's doorbell, in units of notify_off_multiplier.</summary>
    public const int QueueNotifyOff = 0x1E;
    /// <summary>le64: the selected queue's descriptor area.</summary>
    public const int QueueDesc = 0x20;
    /// <summary>le64: the selected queue's driver area (split: avail ring).</summary>
    public const int QueueDriver = 0x28;
    /// <summary>le64: the selected queue's device area (split: used ring).</summary>
    public const int QueueDevice = 0x30;
    /// <summary>le16, read-only (1.2): the value to write to the doorbell with NOTIF_CONFIG_DATA.</summary>
    public const int QueueNotifyData = 0x38;
    /// <summary>le16 (1.2, with VIRTIO_F_RING_RESET): 1 resets the selected queue; reads 1 until done.</summary>
    public const int QueueReset = 0x3A;
    /// <summary>Bytes of the structure a VirtIO 1.0 device serves (up to queue_device).</summary>
    public const int Size = 0x38;
    /// <summary>The MSI-X "no vector" value.</summary>
    public const ushort NoVector = 0xffff;
}
