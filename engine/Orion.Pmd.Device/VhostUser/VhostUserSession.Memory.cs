using Microsoft.Win32.SafeHandles;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.VhostUser;

// SET_MEM_TABLE: the front-end's memory, validated before anything is mapped.
internal sealed partial class VhostUserSession
{
    private readonly UserAddressMap _userMap = new();

    /// <summary>
    /// Validates the table (at most 8 regions, one fd each, no empty, wrapping or overlapping region by guest or by user
    /// address, each region inside its fd), then replaces the device's mappings. Queues that run are stopped first (their
    /// rings point into the old mappings) and restarted where they stopped, with ring addresses translated anew.
    /// </summary>
    private void SetMemoryTable(ReadOnlySpan<byte> payload)
    {
        Span<VhostMemoryRegion> regions = stackalloc VhostMemoryRegion[VhostUserLimits.MaxRegions];
        if (!VhostMemoryTable.TryRead(payload, regions, out int count, out string error))
            throw new VhostUserProtocolException($"SetMemTable: {error}");
        regions = regions[..count];
        if (_fdCount != count)
            throw new VhostUserProtocolException($"SetMemTable describes {count} region(s) but carries {_fdCount} fd(s); it needs one per region");
        for (int i = 0; i < count; i++)
        {
            var r = regions[i];
            if (r.Size + r.MmapOffset > long.MaxValue)
                throw new VhostUserProtocolException($"SetMemTable region {i}: size 0x{r.Size:x} at mmap offset 0x{r.MmapOffset:x} is beyond any file");
            RequireSealed(i, _fds[i]);
            long fileBytes = FileLength(i, _fds[i]);       // after the seal: the size cannot drop below this any more
            // Mapping past the end of the fd would turn the first access there into SIGBUS: refuse it up front.
            if (r.MmapOffset + r.Size > (ulong)fileBytes)
                throw new VhostUserProtocolException(
                    $"SetMemTable region {i}: [mmap offset 0x{r.MmapOffset:x}, +0x{r.Size:x}) runs past the end of its {fileBytes}-byte fd");
            for (int j = 0; j < i; j++)
            {
                var o = regions[j];
                if (r.GuestAddress < o.GuestAddress + o.Size && o.GuestAddress < r.GuestAddress + r.Size)
                    throw new VhostUserProtocolException(
                        $"SetMemTable region {i} [guest 0x{r.GuestAddress:x}, +0x{r.Size:x}) overlaps region {j} [guest 0x{o.GuestAddress:x}, +0x{o.Size:x})");
                if (r.UserAddress < o.UserAddress + o.Size && o.UserAddress < r.UserAddress + r.Size)
                    throw new VhostUserProtocolException(
                        $"SetMemTable region {i} [user 0x{r.UserAddress:x}, +0x{r.Size:x}) overlaps region {j} [user 0x{o.UserAddress:x}, +0x{o.Size:x})");
            }
        }

        var running = _vrings.Where(v => v.Running).ToArray();
        foreach (var v in running) StopRing(v);
        Span<MemoryRegion> table = stackalloc MemoryRegion[count];
        for (int i = 0; i < count; i++)
            table[i] = new MemoryRegion(regions[i].GuestAddress, regions[i].Size, 0, _fds[i], (long)regions[i].MmapOffset);
        _userMap.Clear();
        _device.SetMemoryTable(table);          // maps its own duplicates; ours are closed after the message
        _userMap.Set(regions);
        foreach (var v in _vrings)
        {
            if (!v.HasAddresses) continue;
            try
            {
                TranslateRing(v);
            }
            catch (VhostUserProtocolException) when (!running.Contains(v))
            {
                v.HasAddresses = false;           // a stopped ring gets new addresses before it starts again
            }
        }
        foreach (var v in running) StartRing(v);
    }

    /// <summary>
    /// A region's fd must never shrink under the device's mapping (the next access there would be SIGBUS, the end of
    /// the process): it carries F_SEAL_SHRINK, or gets it here. QEMU's memory-backend-memfd seals its memfds (seal=on,
    /// the default) and the Orion engine seals its own; a hugetlbfs or regular file (memory-backend-file, DPDK) cannot
    /// be sealed and is refused unless the server allows unsealed memory.
    /// </summary>
    private void RequireSealed(int region, int fd)
    {
        if (MemorySeals.TryPreventShrinking(fd, out string why)) return;
        if (!_options.AllowUnsealedMemory)
            throw new VhostUserProtocolException(
                $"SetMemTable region {region}: its fd is not sealed against shrinking: {why} (or start the back-end with allow unsealed memory, " +
                "orion-vhost --allow-unsealed-memory, accepting that a front-end which truncates it ends the back-end with SIGBUS)");
        if (!_unsealedLogged)
        {
            _log.WriteLine($"vhost-user: SetMemTable region {region} accepted unsealed (allowed): {why}");
            _unsealedLogged = true;
        }
    }
    private bool _unsealedLogged;

    private static long FileLength(int region, int fd)
    {
        try
        {
            using var handle = new SafeFileHandle(fd, ownsHandle: false);
            return RandomAccess.GetLength(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new VhostUserProtocolException($"SetMemTable region {region}: its fd cannot be mapped ({e.Message}); send a memfd or a file", e);
        }
    }
}
