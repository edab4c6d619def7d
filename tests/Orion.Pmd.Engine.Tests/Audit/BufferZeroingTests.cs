using Orion.Pmd.Engine;

namespace Orion.Pmd.Engine.Tests.Audit;

/// <summary><see cref="EngineOptions.ZeroBuffersOnReturn"/>: a returned DMA buffer is zeroed before anyone else can rent it.</summary>
[NonParallelizable]
public class BufferZeroingTests
{
    [Test]
    public unsafe void ReturnedBufferIsZeroedWhenAsked()
    {
        using var engine = ManualEngine.Start(tweak: o => o with { ZeroBuffersOnReturn = true });
        var pool = engine.Device.Pool;
        Assert.That(pool.ZeroOnReturn, Is.True);

        var first = pool.Rent(8192);
        ulong address = first.GuestAddress;
        first.Span.Fill(0xC3);
        new Span<byte>(first.Pointer, first.Capacity).Fill(0xC3);        // beyond Length too, through the raw pointer
        first.Dispose();

        using var second = pool.Rent(8192);
        Assert.That(second.GuestAddress, Is.EqualTo(address), "the same region came back (the free list is LIFO)");
        Assert.That(new Span<byte>(second.Pointer, second.Capacity).ToArray(), Is.All.Zero);
    }

    [Test]
    public void WithoutTheOptionAReturnedBufferKeepsItsBytes()
    {
        // Documents the default: the pool does not clear buffers, so a renter may see a previous renter's data.
        using var engine = ManualEngine.Start();
        var pool = engine.Device.Pool;
        Assert.That(pool.ZeroOnReturn, Is.False);

        var first = pool.Rent(4096);
        ulong address = first.GuestAddress;
        first.Span.Fill(0xC3);
        first.Dispose();

        using var second = pool.Rent(4096);
        Assert.That(second.GuestAddress, Is.EqualTo(address));
        Assert.That(second.Span.ToArray(), Is.All.EqualTo(0xC3), "data remains: set ZeroBuffersOnReturn when tenants share an engine");
    }

    [Test]
    [CancelAfter(30_000)]
    public void BounceBuffersAreZeroedToo()
    {
        using var engine = ManualEngine.Start(tweak: o => o with { ZeroBuffersOnReturn = true });
        var dev = engine.Device;
        var secret = new byte[dev.BlockSize];
        secret.AsSpan().Fill(0x77);
        engine.Wait(dev.WriteAsync(0, secret));                         // bounced: not DMA memory
        Assert.That(dev.Pool.InUseCount, Is.Zero);
        using var next = dev.Pool.Rent(dev.BlockSize);
        Assert.That(next.Span.ToArray(), Is.All.Zero, "the bounce buffer that carried the write was cleared");
    }
}
