using Orion.Pmd.Virtio.Memory;

namespace Orion.Pmd.Engine.Memory;

/// <summary>
/// All memory the device may touch: a few memfd regions (at most eight, the vhost-user limit) and the driver's
/// translation table over them. Guest addresses start at <see cref="GuestBase"/> and are unrelated to process
/// addresses, so a device that used a host pointer by mistake would fail loudly.
/// </summary>
internal sealed class DmaMemory : IDisposable
{
    /// <summary>Guest address of the first region; each further region starts 64 GiB higher.</summary>
    public const ulong GuestBase = 0x40_0000_0000UL;
    private const ulong RegionStride = 0x10_0000_0000UL;

    private readonly List<DmaRegion> _regions = [];

    public MemoryRegionTable Table { get; } = new();

    public DmaRegion AddRegion(string name, long length)
    {
        if (_regions.Count == MemoryRegionTable.MaxRegions)
            throw new InvalidOperationException($"at most {MemoryRegionTable.MaxRegions} DMA regions can be registered with a device");
        var region = new DmaRegion(name, length, GuestBase + RegionStride * (ulong)_regions.Count);
        _regions.Add(region);
        Table.Add(region.Descriptor);
        return region;
    }

    public long TotalBytes => _regions.Sum(r => r.Length);

    public void Dispose()
    {
        Table.Clear();
        foreach (var r in _regions) r.Dispose();
        _regions.Clear();
    }
}
