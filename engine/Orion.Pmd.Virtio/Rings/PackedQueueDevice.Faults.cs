namespace Orion.Pmd.Virtio.Rings;

// Deliberate misbehaviour for fault injection and hostile-device tests (IDeviceQueueFaults); never on a normal path.
public sealed unsafe partial class PackedQueueDevice : IDeviceQueueFaults
{
    /// <inheritdoc />
    void IDeviceQueueFaults.PushUsedRaw(ushort consumedId, uint reportedId, uint length, bool backwardsWrap)
    {
        int descriptors = 1;
        if (consumedId < _size && _chainLength[consumedId] != 0)
        {
            descriptors = _chainLength[consumedId];
            _chainLength[consumedId] = 0;
        }
        else _owned++;                                // a second completion covers a descriptor the device does not own
        // Backwards: the bits a used descriptor of the previous lap had, which the driver cannot take for this lap's.
        bool wrap = backwardsWrap ? !_usedWrap : _usedWrap;
        ushort flags = (ushort)((wrap ? PackedDescriptorFlags.Avail | PackedDescriptorFlags.Used : 0)
            | (length > 0 ? PackedDescriptorFlags.Write : 0));
        WriteUsed(unchecked((ushort)reportedId), length, flags, descriptors);
    }

    /// <inheritdoc />
    void IDeviceQueueFaults.AbandonChain(ushort id)
    {
        if (id >= _size || _chainLength[id] == 0) return;
        _owned -= _chainLength[id];
        _chainLength[id] = 0;
    }

    /// <inheritdoc />
    void IDeviceQueueFaults.MarkAvailableIds(Span<bool> ids)
    {
        // Every descriptor the driver has made available and the device has not popped: the buffer id sits in a chain's
        // last descriptor, but marking every descriptor's id only excludes more candidates.
        ushort position = _nextAvail;
        bool wrap = _availWrap;
        for (int n = 0; n < _size; n++)
        {
            ushort flags = Volatile.Read(ref FlagsAt(position));
            if (!IsAvailable(flags, wrap)) break;
            ushort id = _desc[position].Id;
            if (id < ids.Length) ids[id] = true;
            (position, wrap) = new PackedPosition(position, wrap).Next(_size);
        }
    }
}
