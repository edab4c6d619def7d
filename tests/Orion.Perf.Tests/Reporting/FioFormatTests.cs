using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

[TestFixture]
public class FioFormatTests
{
    // unit: 0 none, 1 bytes, 2 bytes per second. Expected strings are what fio 3.33 prints for the same numbers.
    [TestCase(9_440_116UL, false, 0, "9440k")]
    [TestCase(512_000UL, false, 0, "512k")]
    [TestCase(700UL, false, 0, "700")]
    [TestCase(2_559_879UL, false, 0, "2560k")]
    [TestCase(38_705_000_000UL, true, 2, "36.0GiB/s")]
    [TestCase(38_705_000_000UL, false, 2, "38.7GB/s")]
    [TestCase(2_097_152_000UL, true, 2, "2000MiB/s")]
    [TestCase(4096UL, true, 1, "4096B")]
    [TestCase(1_048_576UL, true, 1, "1024KiB")]
    [TestCase(0UL, true, 1, "0B")]
    public void Num2Str(ulong value, bool pow2, int unit, string expected) =>
        Assert.That(FioFormat.Num2Str(value, FioFormat.SigFigs, pow2, (FioFormat.Unit)unit), Is.EqualTo(expected));

    [Test]
    public void Num2StrWithSixDigitsForLatency()
    {
        Assert.That(FioFormat.Num2Str(27_190, 6, false, FioFormat.Unit.None), Is.EqualTo("27190"));
        Assert.That(FioFormat.Num2Str(12_345_678, 6, false, FioFormat.Unit.None), Is.EqualTo("12346k"));
    }

    [Test]
    public void CFormat()
    {
        Assert.That(FioFormat.F(9.64, 5, 2), Is.EqualTo(" 9.64"));
        Assert.That(FioFormat.F(32.666, 5, 2), Is.EqualTo("32.67"));
        Assert.That(FioFormat.F(double.NaN, 5, 2), Is.EqualTo(" 0.00"));
    }

    [Test]
    public void CTimePadsTheDay()
    {
        var t = new DateTimeOffset(2026, 11, 4, 12, 19, 2, TimeSpan.Zero);
        Assert.That(FioFormat.CTime(t), Does.Match(@"^\w{3} Nov  [34] \d\d:\d\d:02 2026$"));
    }
}
