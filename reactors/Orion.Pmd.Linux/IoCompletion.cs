namespace Orion.Pmd.Linux;

/// <summary>One completion reaped from an <see cref="IoUring"/>: a copy of a CQE, taken before its slot was handed back.</summary>
/// <param name="UserData">The <c>userData</c> the request was prepared with.</param>
/// <param name="Result">
/// What the operation returned: bytes transferred for reads and writes (fewer than asked at the end of a file), 0 for
/// most others, or a negated errno (<c>-<see cref="Errno.EBADF"/></c>, <c>-<see cref="Errno.ECANCELED"/></c>...).
/// </param>
/// <param name="Flags">The CQE flags (IORING_CQE_F_*); 0 for every operation <see cref="IoUring"/> prepares.</param>
public readonly record struct IoCompletion(ulong UserData, int Result, uint Flags);

/// <summary>Per-request flags of a submission queue entry (IOSQE_*).</summary>
[Flags]
public enum IoSqeFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>The fd is an index into the files registered with <see cref="IoUring.RegisterFiles"/>.</summary>
    FixedFile = 1,
    /// <summary>Start only once every request submitted before it has completed, and hold later ones back until it has.</summary>
    IoDrain = 2,
    /// <summary>
    /// Start the next request only after this one completes successfully; if it fails (or reads short) the rest of the
    /// chain completes with <c>-ECANCELED</c>.
    /// </summary>
    IoLink = 4,
    /// <summary>Like <see cref="IoLink"/>, but the next request starts whatever this one's result.</summary>
    IoHardLink = 8,
    /// <summary>Skip the non-blocking attempt and go straight to an io-wq worker thread.</summary>
    Async = 16,
}
