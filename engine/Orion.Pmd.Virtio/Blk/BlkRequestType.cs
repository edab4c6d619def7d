namespace Orion.Pmd.Virtio.Blk;

/// <summary>virtio-blk request types (VirtIO 1.2 §5.2.6), the <c>type</c> field of the request header.</summary>
public enum BlkRequestType : uint
{
    /// <summary><c>VIRTIO_BLK_T_IN</c>: read.</summary>
    In = 0,
    /// <summary><c>VIRTIO_BLK_T_OUT</c>: write.</summary>
    Out = 1,
    /// <summary><c>VIRTIO_BLK_T_FLUSH</c>: flush the volatile write cache.</summary>
    Flush = 4,
    /// <summary><c>VIRTIO_BLK_T_GET_ID</c>: read the 20-byte device id (serial).</summary>
    GetId = 8,
    /// <summary><c>VIRTIO_BLK_T_GET_LIFETIME</c> (1.2).</summary>
    GetLifetime = 10,
    /// <summary><c>VIRTIO_BLK_T_DISCARD</c>.</summary>
    Discard = 11,
    /// <summary><c>VIRTIO_BLK_T_WRITE_ZEROES</c>.</summary>
    WriteZeroes = 13,
    /// <summary><c>VIRTIO_BLK_T_SECURE_ERASE</c> (1.2).</summary>
    SecureErase = 14,
    /// <summary><c>VIRTIO_BLK_T_ZONE_APPEND</c> (1.2).</summary>
    ZoneAppend = 15,
    /// <summary><c>VIRTIO_BLK_T_ZONE_REPORT</c> (1.2).</summary>
    ZoneReport = 16,
    /// <summary><c>VIRTIO_BLK_T_ZONE_OPEN</c> (1.2).</summary>
    ZoneOpen = 18,
    /// <summary><c>VIRTIO_BLK_T_ZONE_CLOSE</c> (1.2).</summary>
    ZoneClose = 20,
    /// <summary><c>VIRTIO_BLK_T_ZONE_FINISH</c> (1.2).</summary>
    ZoneFinish = 22,
    /// <summary><c>VIRTIO_BLK_T_ZONE_RESET</c> (1.2).</summary>
    ZoneReset = 24,
    /// <summary><c>VIRTIO_BLK_T_ZONE_RESET_ALL</c> (1.2).</summary>
    ZoneResetAll = 26,
}

/// <summary>The status byte a device writes as the last byte of every request (VirtIO 1.2 §5.2.6).</summary>
public enum BlkStatus : byte
{
    /// <summary><c>VIRTIO_BLK_S_OK</c>.</summary>
    Ok = 0,
    /// <summary><c>VIRTIO_BLK_S_IOERR</c>: the device could not complete the request (out of range, misaligned, media error).</summary>
    IoError = 1,
    /// <summary><c>VIRTIO_BLK_S_UNSUPP</c>: the request type or a flag is not supported.</summary>
    Unsupported = 2,
}
