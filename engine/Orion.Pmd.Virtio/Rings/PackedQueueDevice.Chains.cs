using System.Runtime.CompilerServices;

namespace Orion.Pmd.Virtio.Rings;

// Chain walking and validation of the packed device: each descriptor is copied once out of shared memory and only
// the copy is used, so a driver that rewrites descriptors while the device reads them cannot split a check from its use.
public sealed unsafe partial class PackedQueueDevice
{
    private bool WalkChain(ushort start, ushort headFlags, DescriptorChain chain)
    {
        chain.Reset(0);
        ushort position = start;
        bool wrap = _availWrap;
        PackedDescriptor d = _desc[start];
        d.Flags = (PackedDescriptorFlags)headFlags;     // the flags already read with acquire, not a second read
        bool sawWritable = false;
        ulong total = 0;
        int count = 0;
        ushort id;
        for (; ; )
        {
            count++;
            if ((d.Flags & PackedDescriptorFlags.Indirect) != 0)
            {
                // §2.7.7: an indirect descriptor is a whole list on its own, never linked by NEXT.
                if (!_indirect) return Break(VirtqueueError.IndirectNotAllowed, $"descriptor at ring position {position} is indirect but INDIRECT_DESC was not negotiated");
                if (count != 1) return Break(VirtqueueError.IndirectNotAllowed, $"indirect descriptor at ring position {position} is not alone in its chain (the chain starts at {start})");
                if ((d.Flags & PackedDescriptorFlags.Next) != 0) return Break(VirtqueueError.IndirectNotAllowed, $"indirect descriptor at ring position {position} also has NEXT set");
                id = d.Id;
                if (!CheckId(id, start)) return false;
                if (!WalkIndirect(start, d, chain)) return false;
                break;
            }
            if (!AddSegment(start, d.Address, d.Length, (d.Flags & PackedDescriptorFlags.Write) != 0, chain, ref sawWritable, ref total)) return false;
            if ((d.Flags & PackedDescriptorFlags.Next) == 0)
            {
                id = d.Id;                                 // §2.7.6: the buffer id is in the last descriptor
                if (!CheckId(id, start)) return false;
                break;
            }
            if (count == _size)
                return Break(VirtqueueError.DescriptorChainLoop, $"descriptor chain at ring position {start} has NEXT set on all {_size} descriptors of the ring: it loops");
            (position, wrap) = new PackedPosition(position, wrap).Next(_size);
            d = _desc[position];
            // The driver writes every descriptor of a list before exposing its head, each with its own lap's bits.
            if (!IsAvailable((ushort)d.Flags, wrap))
                return Break(VirtqueueError.WrapCounterInvalid,
                    $"descriptor at ring position {position} in the chain from {start} has flags 0x{(ushort)d.Flags:x4}: not available for wrap counter {(wrap ? 1 : 0)}");
        }

        // The device owns every descriptor it popped until it publishes them used; a driver cannot have more out.
        if (_owned + count > _size)
            return Break(VirtqueueError.AvailIndexRunsAhead,
                $"chain at ring position {start} makes {_owned + count} descriptors available to the device at once, more than the queue size {_size}");
        _chainLength[id] = (ushort)count;
        _owned += count;
        (_nextAvail, _availWrap) = new PackedPosition(position, wrap).Next(_size);
        chain.Head = id;
        return true;
    }

    private bool CheckId(ushort id, ushort start)
    {
        if (id >= _size)
            return Break(VirtqueueError.BufferIdOutOfRange, $"chain at ring position {start} carries buffer id {id}, out of range for a {_size}-entry queue");
        if (_chainLength[id] != 0)
            return Break(VirtqueueError.BufferIdInUse, $"chain at ring position {start} carries buffer id {id}, which the device has not completed yet");
        return true;
    }

    private bool WalkIndirect(ushort start, in PackedDescriptor table, DescriptorChain chain)
    {
        if (!_check.MapIndirectTable(start, table.Address, table.Length, out var host, out int count)) return false;
        bool sawWritable = false;
        ulong total = 0;
        for (int i = 0; i < count; i++)
        {
            // Tables need no alignment; entries are read in order, and only WRITE counts (§2.7.7): NEXT and id are
            // reserved and ignored. INDIRECT is refused rather than ignored: a driver that set it meant a nested
            // table, and reading that table's address as a data buffer would move data to the wrong place.
            var e = Unsafe.ReadUnaligned<PackedDescriptor>(host + PackedDescriptor.Size * i);
            if ((e.Flags & PackedDescriptorFlags.Indirect) != 0) return _check.NestedIndirect(start, i);
            if (!AddSegment(start, e.Address, e.Length, (e.Flags & PackedDescriptorFlags.Write) != 0, chain, ref sawWritable, ref total)) return false;
        }
        return true;
    }

    private bool AddSegment(ushort start, ulong address, uint length, bool writable, DescriptorChain chain, ref bool sawWritable, ref ulong total)
        => _check.AddSegment(start, address, length, writable, chain, ref sawWritable, ref total);
}
