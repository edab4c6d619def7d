using System.Buffers.Binary;

namespace Orion.Pmd.Linux.Vfio;

/// <summary>
/// Register access to one region of a <see cref="VfioDevice"/> (a BAR): 1, 2, 4 or 8-byte little-endian loads and
/// stores of that exact width, through the region's mmap where the kernel allows it (a doorbell is then one store,
/// no syscall), else through pread/pwrite on the device fd. Every access is range-checked and naturally aligned.
/// </summary>
public sealed unsafe class VfioRegisters
{
    private readonly VfioDevice _device;
    private readonly byte* _base;

    /// <summary>Opens region <paramref name="index"/> of <paramref name="device"/> for register access (mapped when possible).</summary>
    public VfioRegisters(VfioDevice device, int index)
    {
        _device = device;
        Region = device.GetRegion(index);
        _base = (byte*)device.TryMap(Region);
    }

    /// <summary>The region.</summary>
    public VfioRegion Region { get; }

    /// <summary>Whether accesses go through the mmap (false: pread/pwrite).</summary>
    public bool Mapped => _base != null;

    /// <summary>Length of the region in bytes.</summary>
    public long Length => (long)Region.Size;

    /// <summary>Reads the <paramref name="width"/>-byte register at <paramref name="offset"/>.</summary>
    public ulong Read(long offset, int width)
    {
        Check(offset, width);
        if (_base != null)
        {
            byte* p = _base + offset;
            return width switch
            {
                1 => Volatile.Read(ref *p),
                2 => Volatile.Read(ref *(ushort*)p),
                4 => Volatile.Read(ref *(uint*)p),
                _ => Volatile.Read(ref *(ulong*)p),
            };
        }
        Span<byte> b = stackalloc byte[width];
        _device.Read(Region, offset, b);
        return width switch
        {
            1 => b[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(b),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(b),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(b),
        };
    }

    /// <summary>Writes the <paramref name="width"/>-byte register at <paramref name="offset"/>.</summary>
    public void Write(long offset, int width, ulong value)
    {
        Check(offset, width);
        if (_base != null)
        {
            byte* p = _base + offset;
            switch (width)
            {
                case 1: Volatile.Write(ref *p, (byte)value); break;
                case 2: Volatile.Write(ref *(ushort*)p, (ushort)value); break;
                case 4: Volatile.Write(ref *(uint*)p, (uint)value); break;
                default: Volatile.Write(ref *(ulong*)p, value); break;
            }
            return;
        }
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        _device.Write(Region, offset, b[..width]);
    }

    private void Check(long offset, int width)
    {
        if (width is not (1 or 2 or 4 or 8)) throw new ArgumentOutOfRangeException(nameof(width), $"a register is 1, 2, 4 or 8 bytes, not {width}");
        if (offset < 0 || offset % width != 0 || offset + width > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"a {width}-byte register at {offset} is misaligned or outside region {Region.Index} ({Length} bytes)");
    }
}
