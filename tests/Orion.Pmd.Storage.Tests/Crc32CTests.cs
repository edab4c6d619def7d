using System.Text;

namespace Orion.Pmd.Storage.Tests;

/// <summary>CRC-32C against the standard check value, and the hardware path against the table on random data.</summary>
public class Crc32CTests
{
    [Test]
    public void MatchesTheStandardCheckValue()
    {
        Assert.That(Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.Compute([]), Is.EqualTo(0u));
    }

    [Test]
    public void HardwareAndTableAgree()
    {
        var rnd = new Random(3);
        for (int length = 0; length < 300; length++)
        {
            var data = new byte[length];
            rnd.NextBytes(data);
            Assert.That(Crc32C.Compute(data), Is.EqualTo(Crc32C.ComputeWithTable(data)), $"length {length}");
        }
    }

    [Test]
    public void UpdateInPiecesEqualsOneComputation()
    {
        var data = new byte[1000];
        new Random(4).NextBytes(data);
        uint state = Crc32C.Update(0xFFFFFFFF, data.AsSpan(0, 333));
        state = Crc32C.Update(state, data.AsSpan(333));
        Assert.That(~state, Is.EqualTo(Crc32C.Compute(data)));
    }
}
