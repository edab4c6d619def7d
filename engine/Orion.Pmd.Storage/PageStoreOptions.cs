namespace Orion.Pmd.Storage;

/// <summary>Options of a <see cref="PageStore"/>.</summary>
public sealed record PageStoreOptions
{
    /// <summary>Pages to format the store with; 0 (the default) takes as many as fit. Fixed when formatted.</summary>
    public long PageCount { get; init; }

    /// <summary>Format the storage when its header blocks are blank (all zero) instead of failing.</summary>
    public bool FormatIfBlank { get; init; }

    /// <summary>Slot buffers kept for reuse (more are rented when more operations run at once, and returned after).</summary>
    public int BufferCacheSize { get; init; } = 32;
}
