using System.Runtime.InteropServices;
using Orion.Pmd.Virtio.Memory;

namespace Orion.Pmd.Virtio.Tests.Support;

/// <summary>
/// One block of native memory registered as a single region of a <see cref="MemoryRegionTable"/>, at a guest
/// address deliberately unrelated to its host address, and surrounded by guard bytes that are allocated but not
/// registered: a ring that ever touches them has gone outside registered memory.
/// </summary>
internal sealed unsafe class GuardedRegion : IDisposable
{
    /// <summary>Default device-visible base: far from any host heap address.</summary>
    public const ulong DefaultGuestBase = 0x1_0000_0000;

    /// <summary>Guard bytes before and after the registered middle.</summary>
    public const int GuardBytes = 4096;

    /// <summary>The byte the guards are filled with.</summary>
    public const byte GuardPattern = 0xA5;

    private byte* _allocation;

    public GuardedRegion(int length, ulong guestBase = DefaultGuestBase)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        Length = length;
        GuestBase = guestBase;
        _allocation = (byte*)NativeMemory.AlignedAlloc((nuint)(length + 2 * GuardBytes), 4096);
        new Span<byte>(_allocation, GuardBytes).Fill(GuardPattern);
        new Span<byte>(_allocation + GuardBytes + length, GuardBytes).Fill(GuardPattern);
        Host = _allocation + GuardBytes;
        Span.Clear();
        if ((ulong)Host == guestBase)
            throw new InvalidOperationException("test setup: the guest base must differ from the host address");
        Table = new MemoryRegionTable();
        Table.Add(new MemoryRegion(guestBase, (ulong)length, (nint)Host));
    }

    /// <summary>Host address of the registered middle.</summary>
    public byte* Host { get; }

    /// <summary>Guest address of the registered middle.</summary>
    public ulong GuestBase { get; }

    /// <summary>Bytes registered.</summary>
    public int Length { get; }

    /// <summary>One past the last registered guest address.</summary>
    public ulong GuestEnd => GuestBase + (ulong)Length;

    /// <summary>The table holding exactly this region.</summary>
    public MemoryRegionTable Table { get; }

    /// <summary>The registered bytes.</summary>
    public Span<byte> Span => new(Host, Length);

    public ulong GuestOf(byte* host)
    {
        long offset = host - Host;
        if (offset < 0 || offset > Length) throw new ArgumentOutOfRangeException(nameof(host), "test setup: pointer outside the region");
        return GuestBase + (ulong)offset;
    }

    public byte* HostOf(ulong guest)
    {
        if (guest < GuestBase || guest > GuestEnd) throw new ArgumentOutOfRangeException(nameof(guest), "test setup: address outside the region");
        return Host + (guest - GuestBase);
    }

    /// <summary>Whether both guards still hold only the guard pattern.</summary>
    public bool GuardsIntact =>
        !new ReadOnlySpan<byte>(_allocation, GuardBytes).ContainsAnyExcept(GuardPattern)
        && !new ReadOnlySpan<byte>(Host + Length, GuardBytes).ContainsAnyExcept(GuardPattern);

    /// <summary>A copy of the registered bytes, to prove a later call wrote nothing.</summary>
    public byte[] Snapshot() => Span.ToArray();

    public void Dispose()
    {
        if (_allocation == null) return;
        NativeMemory.AlignedFree(_allocation);
        _allocation = null;
    }
}
