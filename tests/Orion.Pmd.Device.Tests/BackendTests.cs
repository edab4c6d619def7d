using Orion.Pmd.Device.Backends;

namespace Orion.Pmd.Device.Tests;

/// <summary>Size strings as device strings spell them.</summary>
public class SizeTextTests
{
    [TestCase("4096", 4096L)]
    [TestCase("0", 0L)]
    [TestCase("4k", 4096L)]
    [TestCase("4K", 4096L)]
    [TestCase("4KiB", 4096L)]
    [TestCase("4kib", 4096L)]
    [TestCase("4KB", 4096L)]
    [TestCase("512M", 512L << 20)]
    [TestCase("2m", 2L << 20)]
    [TestCase("1G", 1L << 30)]
    [TestCase("1GiB", 1L << 30)]
    [TestCase("1t", 1L << 40)]
    [TestCase("3P", 3L << 50)]
    [TestCase("  64M ", 64L << 20)]
    public void TryParse_Accepts(string text, long expected)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SizeText.TryParse(text, out long bytes), Is.True);
            Assert.That(bytes, Is.EqualTo(expected));
        }
    }

    [TestCase("")]
    [TestCase("   ")]
    [TestCase("k")]
    [TestCase("G")]
    [TestCase("-1")]
    [TestCase("+4k")]
    [TestCase("1.5G")]
    [TestCase("4x")]
    [TestCase("abc")]
    [TestCase("1 G")]
    [TestCase("9999999999999999999")]    // beyond long
    [TestCase("8192P")]                  // 2^63: overflows
    [TestCase("16777216T")]              // 2^64
    public void TryParse_Rejects(string text)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SizeText.TryParse(text, out long bytes), Is.False);
            Assert.That(bytes, Is.Zero);
        }
    }

    [TestCase(4096L, "4K")]
    [TestCase(512L, "512")]
    [TestCase(1536L, "1536")]
    [TestCase(1L << 20, "1M")]
    [TestCase(3L << 20, "3M")]
    [TestCase(1L << 30, "1G")]
    [TestCase(1536L << 20, "1536M")]
    [TestCase(2L << 40, "2T")]
    [TestCase(1024L << 40, "1024T")]
    [TestCase(0L, "0")]
    public void Format_UsesTheLargestExactUnit(long bytes, string expected)
        => Assert.That(SizeText.Format(bytes), Is.EqualTo(expected));

    [TestCase(512L)]
    [TestCase(4096L)]
    [TestCase(1536L << 20)]
    [TestCase(5L << 40)]
    [TestCase(123456789L)]
    public void Format_ThenTryParse_RoundTrips(long bytes)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SizeText.TryParse(SizeText.Format(bytes), out long back), Is.True);
            Assert.That(back, Is.EqualTo(bytes));
        }
    }
}

/// <summary>Backends' own checks: capacities and, for the memory backend, bounds on every access.</summary>
public class BackendTests
{
    [TestCase(0L)]
    [TestCase(-512L)]
    public void Capacity_MustBePositive(long capacity)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => new MemoryBackend(capacity), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new NullBackend(capacity), Throws.InstanceOf<ArgumentOutOfRangeException>());
        }
    }

    [TestCase(1L)]
    [TestCase(511L)]
    [TestCase(513L)]
    [TestCase(1000L)]
    [TestCase((1L << 20) + 1)]
    public void Capacity_MustBeAMultipleOf512(long capacity)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => new MemoryBackend(capacity), Throws.ArgumentException.With.Message.Contains("multiple of 512"));
            Assert.That(() => new NullBackend(capacity), Throws.ArgumentException.With.Message.Contains("multiple of 512"));
        }
    }

    [Test]
    public void Descriptions()
    {
        using var mem = new MemoryBackend(64L << 20);
        using var nul = new NullBackend(1L << 30);
        using var odd = new MemoryBackend(1536);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(mem.Description, Is.EqualTo("mem:64M"));
            Assert.That(nul.Description, Is.EqualTo("null:1G"));
            Assert.That(odd.Description, Is.EqualTo("mem:1536"));
            Assert.That(mem.Capacity, Is.EqualTo(64L << 20));
            Assert.That(nul.Capacity, Is.EqualTo(1L << 30));
        }
    }

    [Test]
    public void Memory_StartsZeroed_AndRoundTrips()
    {
        using var mem = new MemoryBackend(1 << 20);
        var data = new byte[1000];
        new Random(5).NextBytes(data);
        mem.Write(12345, data);
        var back = new byte[1000];
        mem.Read(12345, back);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(back, Is.EqualTo(data));
            Assert.That(mem.Peek(12345, 1000).SequenceEqual(data), Is.True);
            Assert.That(mem.Peek(0, 12345).ContainsAnyExcept((byte)0), Is.False);
            Assert.That(mem.Peek(13345, (1 << 20) - 13345).ContainsAnyExcept((byte)0), Is.False);
        }
    }

    [Test]
    public void Memory_DiscardAndWriteZeroes_ClearExactlyTheRange()
    {
        using var mem = new MemoryBackend(8192);
        mem.Write(0, Enumerable.Repeat((byte)7, 8192).ToArray());
        mem.Discard(512, 512);
        mem.WriteZeroes(4096, 1024);
        mem.Flush();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(mem.Peek(512, 512).ContainsAnyExcept((byte)0), Is.False);
            Assert.That(mem.Peek(4096, 1024).ContainsAnyExcept((byte)0), Is.False);
            Assert.That(mem.Peek(0, 512).ContainsAnyExcept((byte)7), Is.False);
            Assert.That(mem.Peek(1024, 3072).ContainsAnyExcept((byte)7), Is.False);
            Assert.That(mem.Peek(5120, 3072).ContainsAnyExcept((byte)7), Is.False);
        }
    }

    [TestCase(-1L, 1)]
    [TestCase(0L, 8193)]
    [TestCase(8192L, 1)]
    [TestCase(8191L, 2)]
    [TestCase(8193L, 0)]
    [TestCase(long.MaxValue, 1)]
    [TestCase(long.MinValue, 512)]
    public void Memory_OutOfRange_Throws_AndWritesNothing(long offset, int length)
    {
        using var mem = new MemoryBackend(8192);
        var buffer = new byte[length];
        Array.Fill(buffer, (byte)9);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => mem.Read(offset, new byte[length]), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => mem.Write(offset, buffer), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => mem.WriteZeroes(offset, length), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => mem.Discard(offset, length), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => mem.Peek(offset, length).Length, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(mem.Peek(0, 8192).ContainsAnyExcept((byte)0), Is.False);
        }
    }

    [Test]
    public void Memory_NegativeLength_Throws()
    {
        using var mem = new MemoryBackend(8192);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => mem.WriteZeroes(0, -1), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => mem.Discard(4096, long.MinValue), Throws.InstanceOf<ArgumentOutOfRangeException>());
        }
    }

    [Test]
    public void Memory_EdgesAreReachable()
    {
        using var mem = new MemoryBackend(8192);
        mem.Write(8191, [42]);
        mem.Read(8192, []);                                 // empty access at the end: allowed
        using (Assert.EnterMultipleScope())
        {
            Assert.That(mem.Peek(8191, 1)[0], Is.EqualTo(42));
            Assert.That(mem.Peek(8192, 0).Length, Is.Zero);
        }
    }

    [Test]
    public void Memory_AfterDispose_Throws()
    {
        var mem = new MemoryBackend(8192);
        mem.Dispose();
        mem.Dispose();                                      // idempotent
        Assert.That(() => mem.Read(0, new byte[1]), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void Null_AcceptsEverything_AndMovesNothing()
    {
        using var nul = new NullBackend(4096);
        var buffer = Enumerable.Repeat((byte)0x3C, 512).ToArray();
        nul.Read(0, buffer);
        nul.Write(0, buffer);
        nul.Discard(0, 4096);
        nul.WriteZeroes(0, 4096);
        nul.Flush();
        Assert.That(buffer, Is.All.EqualTo((byte)0x3C));
    }
}
