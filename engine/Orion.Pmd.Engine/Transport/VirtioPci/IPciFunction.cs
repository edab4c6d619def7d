namespace Orion.Pmd.Engine.Transport.VirtioPci;

/// <summary>
/// The seam below the virtio-pci driver: one PCI function's configuration space and its memory BARs, little-endian,
/// as VFIO exposes them (config space through the config region, BARs through their mmapped regions). The driver logic
/// above it (<see cref="VirtioPciCapabilities"/>, <see cref="VirtioPciFunction"/>) is tested against a software model
/// of a virtio-pci function; a VFIO device implements it for real. Every access is range-checked by the implementer.
/// </summary>
public interface IPciFunction
{
    /// <summary>The function's address (for example 0000:00:03.0), for messages.</summary>
    string Address { get; }

    /// <summary>Reads <paramref name="destination"/>.Length bytes of configuration space at <paramref name="offset"/>.</summary>
    void ReadConfig(int offset, Span<byte> destination);

    /// <summary>Length in bytes of memory BAR <paramref name="bar"/> (0-5), or 0 when it is absent or an I/O BAR.</summary>
    long BarLength(int bar);

    /// <summary>Reads a 1, 2, 4 or 8-byte register of BAR <paramref name="bar"/> at <paramref name="offset"/> (one access of that width).</summary>
    ulong ReadBar(int bar, long offset, int width);

    /// <summary>Writes a 1, 2, 4 or 8-byte register of BAR <paramref name="bar"/> at <paramref name="offset"/> (one access of that width).</summary>
    void WriteBar(int bar, long offset, int width, ulong value);
}
