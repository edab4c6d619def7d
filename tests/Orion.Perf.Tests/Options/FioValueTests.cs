using Orion.Perf.Options;

namespace Orion.Perf.Tests.Options;

[TestFixture]
public class FioValueTests
{
    [TestCase("512", 512L)]
    [TestCase("4k", 4096L)]
    [TestCase("4K", 4096L)]
    [TestCase("4kb", 4096L)]
    [TestCase("4KB", 4096L)]
    [TestCase("4KiB", 4096L)]
    [TestCase("4Ki", 4096L)]
    [TestCase("1m", 1L << 20)]
    [TestCase("1M", 1L << 20)]
    [TestCase("1g", 1L << 30)]
    [TestCase("64G", 64L << 30)]
    [TestCase("1t", 1L << 40)]
    [TestCase("1p", 1L << 50)]
    [TestCase("4096b", 4096L)]
    [TestCase(" 8k ", 8192L)]
    [TestCase("0x1000", 4096L)]
    [TestCase("0", 0L)]
    public void SizesUseKbBase1024(string text, long bytes)
    {
        Assert.That(FioSize.TryParse(text, out long parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(bytes));
    }

    [TestCase("")]
    [TestCase("k")]
    [TestCase("4x")]
    [TestCase("-4k")]
    [TestCase("1.5g")]
    [TestCase("4kk")]
    [TestCase("99999999999999p")]
    [TestCase(null)]
    public void BadSizes(string? text) => Assert.That(FioSize.TryParse(text, out _), Is.False);

    [TestCase(4096L, "4k")]
    [TestCase(1L << 30, "1g")]
    [TestCase(1000L, "1000")]
    [TestCase(1536L, "1536")]
    [TestCase(3L << 20, "3m")]
    [TestCase(0L, "0")]
    public void SizeFormat(long bytes, string text) => Assert.That(FioSize.Format(bytes), Is.EqualTo(text));

    [TestCase(1L << 30, "1 GiB")]
    [TestCase(1536L, "1.5 KiB")]
    [TestCase(512L, "512 B")]
    public void SizeDescribe(long bytes, string text) => Assert.That(FioSize.Describe(bytes), Is.EqualTo(text));

    [TestCase("10", 10_000_000L)]
    [TestCase("10s", 10_000_000L)]
    [TestCase("10sec", 10_000_000L)]
    [TestCase("500ms", 500_000L)]
    [TestCase("250us", 250L)]
    [TestCase("2m", 120_000_000L)]
    [TestCase("1h", 3_600_000_000L)]
    [TestCase("1.5", 1_500_000L)]
    [TestCase("-3", -3_000_000L)]
    public void TimesDefaultToSeconds(string text, long micros)
    {
        Assert.That(FioTime.TryParse(text, out var t), Is.True);
        Assert.That(t, Is.EqualTo(TimeSpan.FromMicroseconds(micros)));
    }

    [TestCase("")]
    [TestCase("s")]
    [TestCase("10 minutes")]
    [TestCase("10y")]
    [TestCase("1e3")]
    public void BadTimes(string text) => Assert.That(FioTime.TryParse(text, out _), Is.False);

    [Test]
    public void TimeFormat()
    {
        Assert.That(FioTime.Format(TimeSpan.FromSeconds(10)), Is.EqualTo("10"));
        Assert.That(FioTime.Format(TimeSpan.FromMilliseconds(1500)), Is.EqualTo("1500ms"));
        Assert.That(FioTime.Format(TimeSpan.FromMicroseconds(250)), Is.EqualTo("0.25ms").Or.EqualTo("250us"));
    }
}
