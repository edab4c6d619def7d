namespace Orion.Pmd.Storage;

/// <summary>The storage does not hold what was expected: no header, a header of another kind or format version, or a different geometry.</summary>
public sealed class StorageFormatException(string message) : IOException(message);

/// <summary>A page has no intact version although one was written: both of its slots fail their checksum.</summary>
public sealed class PageCorruptedException(long pageNumber, string message) : IOException(message)
{
    /// <summary>The page.</summary>
    public long PageNumber { get; } = pageNumber;
}

/// <summary>The write-ahead log has no room for a record: truncate it (<see cref="WriteAheadLog.TruncateAsync"/>) or give it more blocks.</summary>
public sealed class WriteAheadLogFullException(string message) : IOException(message);
