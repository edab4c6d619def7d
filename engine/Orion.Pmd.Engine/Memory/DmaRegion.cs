using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Memory;

namespace Orion.Pmd.Engine.Memory;

/// <summary>
/// One memfd-backed region of memory shared with the device, with a device-visible (guest) base address chosen by
/// the engine. Space is carved from it front to back during setup and never returned: rings, request slots and
/// pooled buffers all live for the engine's lifetime.
/// </summary>
internal sealed unsafe class DmaRegion : IDisposable
{
    private readonly SharedMemory _map;
    private long _next;

    public DmaRegion(string name, long length, ulong guestBase)
    {
        _map = SharedMemory.Create(name, length);
        GuestBase = guestBase;
    }

    public ulong GuestBase { get; }
    public long Length => _map.Length;
    public byte* Host => _map.Pointer;
    public long Used => _next;
    public MemoryRegion Descriptor => new(GuestBase, (ulong)_map.Length, (nint)_map.Pointer, _map.Fd);

    /// <summary>Carves <paramref name="bytes"/> aligned to <paramref name="alignment"/>; false when the region is full.</summary>
    public bool TryCarve(long bytes, int alignment, out byte* host, out ulong guest)
    {
        long start = (_next + alignment - 1) & ~(long)(alignment - 1);
        if (bytes < 0 || start + bytes > _map.Length)
        {
            host = null;
            guest = 0;
            return false;
        }
        _next = start + bytes;
        host = _map.Pointer + start;
        guest = GuestBase + (ulong)start;
        return true;
    }

    public void Dispose() => _map.Dispose();
}
