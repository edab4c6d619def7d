namespace Orion.Pmd.Virtio;

/// <summary>Reads of a device's configuration space, the same for every transport and device that holds a copy of it.</summary>
public static class ConfigSpace
{
    /// <summary>
    /// Copies config bytes from <paramref name="offset"/> into <paramref name="destination"/>; returns the bytes
    /// copied, fewer (or 0) where the read runs past the end or starts outside the space.
    /// </summary>
    public static int Read(ReadOnlySpan<byte> space, int offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= space.Length) return 0;
        int n = Math.Min(destination.Length, space.Length - offset);
        space.Slice(offset, n).CopyTo(destination);
        return n;
    }
}
