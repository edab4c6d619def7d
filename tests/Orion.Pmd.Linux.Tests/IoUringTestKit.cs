using System.Runtime.InteropServices;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

/// <summary>Shared helpers for the io_uring tests: a ring or Assert.Ignore, collecting completions, native buffers.</summary>
internal static class IoUringTestKit
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>A ring, or the test is ignored with the kernel's reason (ENOSYS, EPERM from seccomp or io_uring_disabled).</summary>
    public static IoUring CreateRing(uint entries = 8)
    {
        if (!IoUring.TryCreate(entries, out IoUring? ring, out string? whyNot))
            Assert.Ignore($"io_uring is not available here: {whyNot}");
        return ring!;
    }

    /// <summary>Submits what is prepared and collects exactly <paramref name="count"/> completions, failing after <see cref="Patience"/>.</summary>
    public static IoCompletion[] Complete(IoUring ring, int count)
    {
        var got = new IoCompletion[count];
        int n = 0;
        while (n < count)
        {
            Assert.That(ring.SubmitAndWait(1, Patience), Is.True, $"timed out after {n} of {count} completions");
            while (n < count && ring.TryReap(out IoCompletion c)) got[n++] = c;
        }
        return got;
    }

    /// <summary>
    /// Pushes <paramref name="total"/> NOPs (user data 0 to total - 1) through <paramref name="ring"/>, submitting
    /// <paramref name="submitsPerReap"/> SQs' worth before each reap (more than the CQ holds forces an overflow), and
    /// returns how often each one came back; every completion's result must be 0.
    /// </summary>
    public static int[] PumpNops(IoUring ring, int total, int submitsPerReap)
    {
        var seen = new int[total];
        Span<IoCompletion> batch = stackalloc IoCompletion[16];
        int prepared = 0, reaped = 0;
        while (reaped < total)
        {
            for (int round = 0; round < submitsPerReap && prepared < total; round++)
            {
                while (prepared < total && ring.PrepareNop((ulong)prepared)) prepared++;
                ring.Submit();
            }
            int n, before = reaped;
            while ((n = ring.Reap(batch)) > 0)
            {
                foreach (IoCompletion c in batch[..n])
                {
                    Assert.That(c.Result, Is.Zero);
                    seen[c.UserData]++;
                }
                reaped += n;
            }
            if (reaped == before) Assert.That(ring.SubmitAndWait(1, Patience), Is.True, $"no completion after {reaped} of {total}");
        }
        return seen;
    }

    /// <summary>The one completion with <paramref name="userData"/> among <paramref name="completions"/>.</summary>
    public static IoCompletion For(IoCompletion[] completions, ulong userData)
        => completions.Single(c => c.UserData == userData);
}

/// <summary>Native memory aligned to 4096 bytes (what O_DIRECT and registered buffers want), freed on Dispose.</summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    public NativeBuffer(int length)
    {
        Length = length;
        Address = (nint)NativeMemory.AlignedAlloc((nuint)length, 4096);
        Span.Clear();
    }

    public nint Address { get; private set; }
    public int Length { get; }
    public Span<byte> Span => new((void*)Address, Length);
    public Span<byte> Slice(int offset, int length) => Span.Slice(offset, length);

    public void Fill(int seed) => new Random(seed).NextBytes(Span);

    public void Dispose()
    {
        if (Address == 0) return;
        NativeMemory.AlignedFree((void*)Address);
        Address = 0;
    }
}
