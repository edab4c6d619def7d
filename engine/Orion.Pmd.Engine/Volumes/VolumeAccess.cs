namespace Orion.Pmd.Engine.Volumes;

/// <summary>What the holder of a <see cref="BlockVolume"/> may do with it.</summary>
public enum VolumeAccess
{
    /// <summary>Reads and flushes only: writes, discards and write-zeroes are refused before they reach the device.</summary>
    ReadOnly,
    /// <summary>Reads, writes, flushes, discards and write-zeroes, within the volume's range.</summary>
    ReadWrite,
}

/// <summary>
/// A request asked for something its volume does not permit (a write, discard or write-zeroes on a read-only
/// volume). It was refused before anything reached the device, and the refusal was written to the audit log.
/// </summary>
public sealed class VolumeAccessDeniedException : UnauthorizedAccessException
{
    /// <summary>Creates the exception for <paramref name="operation"/> of <paramref name="blocks"/> blocks at <paramref name="lba"/> of <paramref name="volume"/>.</summary>
    public VolumeAccessDeniedException(string volume, string operation, long lba, long blocks, string message) : base(message)
    {
        Volume = volume;
        Operation = operation;
        Lba = lba;
        Blocks = blocks;
    }

    /// <summary>The volume's name.</summary>
    public string Volume { get; }
    /// <summary>What was refused: <c>write</c>, <c>vectored write</c>, <c>discard</c>, <c>write-zeroes</c>.</summary>
    public string Operation { get; }
    /// <summary>The first block asked for, relative to the volume.</summary>
    public long Lba { get; }
    /// <summary>The blocks asked for.</summary>
    public long Blocks { get; }
}
