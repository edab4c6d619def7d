namespace Orion.Pmd.Linux;

/// <summary>Per-request flags for reads and writes (RWF_*, as for <c>preadv2</c>/<c>pwritev2</c>), the <c>rwFlags</c> of <see cref="IoUring"/>'s Prepare methods.</summary>
public static class RwFlags
{
    /// <summary>High-priority request: poll for completion where the device supports it (RWF_HIPRI).</summary>
    public const int HiPri = 0x1;
    /// <summary>Write through: the write completes once its data is durable, as with O_DSYNC (RWF_DSYNC).</summary>
    public const int Dsync = 0x2;
    /// <summary>Data and metadata durable on completion, as with O_SYNC (RWF_SYNC).</summary>
    public const int Sync = 0x4;
    /// <summary>Fail with EAGAIN rather than block (RWF_NOWAIT).</summary>
    public const int NoWait = 0x8;
    /// <summary>Append to the end of the file, ignoring the offset (RWF_APPEND).</summary>
    public const int Append = 0x10;
}

/// <summary>The <c>mode</c> bits of <c>fallocate(2)</c> (FALLOC_FL_*), for <see cref="IoUring.PrepareFallocate"/>.</summary>
public static class FallocateMode
{
    /// <summary>Allocate (or zero) without changing the file size (FALLOC_FL_KEEP_SIZE).</summary>
    public const int KeepSize = 0x01;
    /// <summary>Deallocate the range so it reads as zeroes; needs <see cref="KeepSize"/> too (FALLOC_FL_PUNCH_HOLE).</summary>
    public const int PunchHole = 0x02;
    /// <summary>Make the range read as zeroes, keeping it allocated (FALLOC_FL_ZERO_RANGE).</summary>
    public const int ZeroRange = 0x10;
}
