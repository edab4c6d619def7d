using System.Text;
using Orion.Pmd.Engine.Integrity;

namespace Orion.Pmd.Engine.Tests.Integrity;

[TestFixture]
public class Crc32CTests
{
    [Test]
    public void StandardCheckValue()
    {
        var data = Encoding.ASCII.GetBytes("123456789");
        Assert.That(Crc32C.Compute(data), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.ComputeWithTable(data), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.CheckValue, Is.EqualTo(0xE3069283u));
    }

    /// <summary>The iSCSI test vectors of RFC 3720, B.4.</summary>
    [TestCase(0x00, 0x8A9136AAu)]
    [TestCase(0xFF, 0x62A8AB43u)]
    public void Rfc3720ConstantBuffers(int fill, uint expected)
    {
        var data = Enumerable.Repeat((byte)fill, 32).ToArray();
        Assert.That(Crc32C.Compute(data), Is.EqualTo(expected));
        Assert.That(Crc32C.ComputeWithTable(data), Is.EqualTo(expected));
    }

    [Test]
    public void Rfc3720CountingBuffers()
    {
        var up = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var down = up.Reverse().ToArray();
        Assert.That(Crc32C.Compute(up), Is.EqualTo(0x46DD794Eu));
        Assert.That(Crc32C.Compute(down), Is.EqualTo(0x113FDB5Cu));
    }

    [Test]
    public void EmptyIsZero() => Assert.That(Crc32C.Compute([]), Is.Zero);

    [Test]
    public void InstructionAndTableAgreeOnEveryLengthAndAlignment()
    {
        var rng = new Random(7);
        var buffer = new byte[4200];
        rng.NextBytes(buffer);
        for (int start = 0; start < 8; start++)
            for (int length = 0; length < 70; length++)
            {
                var span = buffer.AsSpan(start, length);
                Assert.That(Crc32C.Compute(span), Is.EqualTo(Crc32C.ComputeWithTable(span)), $"start {start}, length {length}");
            }
        Assert.That(Crc32C.Compute(buffer.AsSpan(3, 4096)), Is.EqualTo(Crc32C.ComputeWithTable(buffer.AsSpan(3, 4096))));
    }

    [Test]
    public void AppendContinuesACrc()
    {
        var data = Encoding.ASCII.GetBytes("123456789");
        for (int split = 0; split <= data.Length; split++)
            Assert.That(Crc32C.Append(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)), Is.EqualTo(0xE3069283u), $"split at {split}");
    }

    [Test]
    public void OneFlippedBitChangesTheCrc()
    {
        var data = new byte[4096];
        new Random(3).NextBytes(data);
        uint before = Crc32C.Compute(data);
        data[1234] ^= 0x10;
        Assert.That(Crc32C.Compute(data), Is.Not.EqualTo(before));
    }
}
