namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>
/// A rented <see cref="Memory.DmaBuffer"/> is a handle to one rental: once disposed it never reaches the buffer again,
/// even after the pool gave the same memory to someone else.
/// </summary>
[NonParallelizable]
public class BufferOwnershipTests
{
    [Test]
    [CancelAfter(30_000)]
    public void DisposingTwiceDoesNotReturnTheNextRentersBuffer()
    {
        using var engine = ManualEngine.Start(tweak: o => o with { ZeroBuffersOnReturn = true });
        var pool = engine.Device.Pool;
        var first = pool.Rent(4096);
        ulong address = first.GuestAddress;
        first.Dispose();
        var second = pool.Rent(4096);
        Assume.That(second.GuestAddress, Is.EqualTo(address), "the pool hands the same memory out again");
        second.Span.Fill(0xA5);

        first.Dispose();                                     // stale: a no-op, never the new renter's buffer

        Assert.That(pool.InUseCount, Is.EqualTo(1), "the second renter still holds its buffer");
        Assert.That(second.Span.ToArray(), Is.All.EqualTo(0xA5), "the stale dispose did not zero the renter's bytes");
        var third = pool.Rent(4096);
        Assert.That(third.GuestAddress, Is.Not.EqualTo(address), "two renters never share one buffer");
        third.Dispose();
        second.Dispose();
        second.Dispose();
        Assert.That(pool.InUseCount, Is.EqualTo(0));
    }

    [Test]
    [CancelAfter(30_000)]
    public void ADisposedHandleThrowsEvenWhenItsMemoryIsRentedAgain()
    {
        using var engine = ManualEngine.Start();
        var pool = engine.Device.Pool;
        var first = pool.Rent(4096);
        ulong address = first.GuestAddress;
        first.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = first.Span.Length);

        var second = pool.Rent(4096);
        Assume.That(second.GuestAddress, Is.EqualTo(address), "the pool hands the same memory out again");
        Assert.Throws<ObjectDisposedException>(() => _ = first.Span.Length, "Span of a stale handle");
        Assert.Throws<ObjectDisposedException>(() => _ = first.Memory, "Memory of a stale handle");
        Assert.Throws<ObjectDisposedException>(() => _ = first.Length, "Length of a stale handle");
        Assert.Throws<ObjectDisposedException>(() => _ = first.GuestAddress, "GuestAddress of a stale handle");
        Assert.That(second.Span.Length, Is.EqualTo(4096), "the new renter's handle works");
        second.Dispose();
    }

    [Test]
    [CancelAfter(30_000)]
    public void RentingAndReturningAllocateNothing()
    {
        // A guard for the handle design (it passed before as well): the ownership token must not cost an allocation.
        using var engine = ManualEngine.Start();
        var pool = engine.Device.Pool;
        RentAndReturn(pool, 100);                                          // warm: the slot is carved, the types loaded
        // Steady state is two clean windows of 10,000 in a row (SteadyAllocation): the runtime's tiering may allocate
        // once on this thread, while a cost per rent, or one every few thousand rents, shows in every window.
        SteadyAllocation.AssertSteady(SteadyAllocation.OnThisThread(() => RentAndReturn(pool, 10_000)), "10,000 rentals");
    }

    // Fully optimized from the first call: a tier-0 loop that the runtime replaces on the stack (OSR) may allocate for
    // that, which would be the JIT's bytes, not the pool's (seen once in CI).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void RentAndReturn(Orion.Pmd.Engine.Memory.DmaBufferPool pool, int count)
    {
        for (int i = 0; i < count; i++)
        {
            var buffer = pool.Rent(8192);
            buffer.Span[0] = 1;
            buffer.Dispose();
            buffer.Dispose();
        }
    }
}
