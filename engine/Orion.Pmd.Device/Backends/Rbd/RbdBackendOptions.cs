namespace Orion.Pmd.Device.Backends.Rbd;

/// <summary>Which Ceph RBD image an <see cref="RbdBackend"/> opens, and how.</summary>
public sealed record RbdBackendOptions
{
    /// <summary>The librbd default when no request timeout is given: long enough to ride through an OSD restart.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The pool holding the image.</summary>
    public required string Pool { get; init; }

    /// <summary>The image's name.</summary>
    public required string Image { get; init; }

    /// <summary>The ceph.conf to read (monitor addresses, authentication); null: librados' default search (/etc/ceph/ceph.conf, $CEPH_CONF).</summary>
    public string? ConfPath { get; init; }

    /// <summary>The client id without <c>client.</c> (its keyring entry); null: librados' default (<c>admin</c>).</summary>
    public string? ClientId { get; init; }

    /// <summary>Open the image read-only: writes, discards and write-zeroes are refused.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>The device's logical block size: the image's size must be a multiple of it.</summary>
    public int LogicalBlockSize { get; init; } = 512;

    /// <summary>
    /// How long librados waits for an OSD or the monitors before it fails a request with ETIMEDOUT
    /// (<c>rados_osd_op_timeout</c> and <c>rados_mon_op_timeout</c>), so a storage outage longer than this ends in IOERR
    /// rather than a request that never completes. <see cref="TimeSpan.Zero"/>: wait for ever (librados' own default).
    /// A short OSD restart stalls requests for up to about 20 s (the OSD heartbeat grace) before they complete.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = DefaultRequestTimeout;

    /// <summary>
    /// librbd's client cache, set on the cluster handle before the image opens (over whatever the ceph.conf says), and
    /// with it whether the device reports a volatile write cache (<see cref="RbdCacheMode"/>). <see cref="RbdCacheMode.None"/>
    /// by default.
    /// </summary>
    public RbdCacheMode Cache { get; init; } = RbdCacheMode.None;
}
