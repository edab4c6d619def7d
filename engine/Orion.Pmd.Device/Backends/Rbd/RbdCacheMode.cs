namespace Orion.Pmd.Device.Backends.Rbd;

/// <summary>
/// librbd's client-side cache for an RBD device (<c>,cache=</c>), and with it what the device reports as its write
/// cache (virtio-blk's <c>writeback</c> byte): the same three modes as QEMU's <c>rbd</c> driver and SPDK's RBD bdev.
/// </summary>
public enum RbdCacheMode
{
    /// <summary>
    /// No client cache (<c>rbd_cache = false</c>): a write completes once the OSDs have it, so the device reports no
    /// volatile cache (<c>writeback</c> = 0) and a FLUSH has nothing to drain. The default.
    /// </summary>
    None,

    /// <summary>
    /// librbd caches, but a write completes only once it is on the OSDs (<c>rbd_cache = true</c>,
    /// <c>rbd_cache_max_dirty = 0</c>): reads may be served from the cache, writes are durable when acknowledged, and
    /// the device reports no volatile cache (<c>writeback</c> = 0).
    /// </summary>
    WriteThrough,

    /// <summary>
    /// librbd acknowledges a write from its cache (<c>rbd_cache = true</c>, <c>rbd_cache_writethrough_until_flush =
    /// false</c>: write-back from the first write, since the device tells the driver so) and writes it out later: the
    /// device reports a volatile cache (<c>writeback</c> = 1), and only a FLUSH (<c>rbd_aio_flush</c>) makes completed
    /// writes durable. A driver that turns the cache off through CONFIG_WCE gets every write flushed before it completes.
    /// </summary>
    WriteBack,
}
