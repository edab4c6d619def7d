namespace Orion.Pmd.Virtio.Memory;

/// <summary>
/// One registered memory region as one side sees it: a device-visible (guest) address range backed by
/// <see cref="Length"/> bytes at <see cref="Host"/> in this process. The same region has the same guest
/// address on both sides of a transport, but each side has its own host mapping.
/// </summary>
/// <param name="GuestAddress">Device-visible base address; descriptors carry addresses in this space.</param>
/// <param name="Length">Size of the region in bytes.</param>
/// <param name="Host">Base of this process's mapping of the region.</param>
/// <param name="Fd">The memfd backing the region (for transports that pass it on), or -1.</param>
/// <param name="FdOffset">Offset of the region inside <paramref name="Fd"/>.</param>
public readonly record struct MemoryRegion(ulong GuestAddress, ulong Length, nint Host, int Fd = -1, long FdOffset = 0)
{
    /// <summary>One past the last guest address of the region.</summary>
    public ulong GuestEnd => GuestAddress + Length;
}
