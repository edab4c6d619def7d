using HdrHistogram;
using HdrHistogram.Utilities;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

/// <summary>
/// The HdrHistogram interval log writer: the V2 compressed encoding as Java writes it (checked byte by byte and
/// decoded by HdrHistogram.NET), and the log's text format read back by HdrHistogram.NET's own reader.
/// </summary>
[TestFixture]
public class HistogramLogFileTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 12, 0, 0, 250, TimeSpan.Zero);

    private static LongHistogram Latencies(params (long Ns, long Count)[] values)
    {
        var h = new LongHistogram(1, 60_000_000_000L, 3);
        foreach (var (ns, count) in values) h.RecordValueWithCount(ns, count);
        return h;
    }

    private static HistogramBase Decode(byte[] compressed) =>
        HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(compressed), 0);

    [TestCase(new long[] { 1 })]
    [TestCase(new long[] { 1, 2, 3, 2047, 2048, 2049, 4096, 100_000, 1_000_000 })]
    [TestCase(new long[] { 750, 1_500, 9_000, 12_000, 40_000, 250_000, 3_000_000, 59_999_999_999 })]
    public void EncodingDecodesToTheSameBuckets(long[] values)
    {
        var h = Latencies(values.Select((v, i) => (v, (long)(i * 37 + 1))).ToArray());
        var bytes = HistogramLogFile.EncodeCompressed(h);
        HlogAssert.Payload(bytes);
        var back = Decode(bytes);
        Assert.That(back.TotalCount, Is.EqualTo(h.TotalCount));
        Assert.That(HlogAssert.Buckets(back), Is.EqualTo(HlogAssert.Buckets(h)));
        Assert.That(back.HighestTrackableValue, Is.EqualTo(60_000_000_000L));
        Assert.That(back.NumberOfSignificantValueDigits, Is.EqualTo(3));
    }

    [Test]
    public void CountsThatNeedAllNineBytesRoundTrip()
    {
        // ZigZag doubles the count: 2^60 needs 62 bits, past the 56 of eight LEB128 bytes: the 9th byte holds 8 bits.
        var h = Latencies((1_000, 1L << 60), (5_000, (1L << 57) + 12345), (70_000, 3));
        var back = Decode(HistogramLogFile.EncodeCompressed(h));
        Assert.That(HlogAssert.Buckets(back), Is.EqualTo(HlogAssert.Buckets(h)));
    }

    [Test]
    public void AnEmptyHistogramEncodesAsOneZeroCount()
    {
        var plain = HistogramLogFile.EncodeV2(Latencies());
        Assert.That(plain, Has.Length.EqualTo(41), "the 40-byte header and one zero count, like Java");
        Assert.That(plain[40], Is.Zero);
        Assert.That(Decode(HistogramLogFile.EncodeCompressed(Latencies())).TotalCount, Is.Zero);
    }

    [Test]
    public void CountsStopAtTheLargestValueAndRunsOfZerosAreNegative()
    {
        var h = Latencies((1, 1), (5, 2));
        var plain = HistogramLogFile.EncodeV2(h);
        // Index 0 is empty, 1 holds 1, 2..4 are empty, 5 holds 2 (one unit per bucket below 2048 at 3 digits).
        // ZigZag: 0 → 0, 1 → 2, -3 → 5, 2 → 4.
        Assert.That(plain[40..], Is.EqualTo(new byte[] { 0, 2, 5, 4 }));
        Assert.That(HistogramLogFile.Counts(h), Has.Length.EqualTo(6));
    }

    [Test]
    public void TheLayoutMatchesHdrHistogramsBuckets()
    {
        var layout = new HistogramLogFile.Layout(1, 3);
        var h = Latencies();
        foreach (long v in new long[] { 1, 2047, 2048, 2049, 4095, 4096, 123_456_789, 59_999_999_999 })
        {
            // Equivalent values share a bucket; the next distinct one is in the next.
            Assert.That(layout.IndexOf(h.LowestEquivalentValue(v)), Is.EqualTo(layout.IndexOf(h.HighestEquivalentValue(v))), $"{v}");
            Assert.That(layout.IndexOf(h.NextNonEquivalentValue(v)), Is.EqualTo(layout.IndexOf(v) + 1), $"{v}");
        }
    }

    [Test]
    public void TheLogIsStandardAndReadsBackWithHdrHistogramsReader()
    {
        var a = Latencies((1_200, 1000), (9_000, 10), (2_500_000, 1));
        var b = Latencies((800, 500), (15_000, 5));
        var log = HlogAssert.Write(Start, (0, 1, a, null), (1, 1, b, null), (1, 1, b, "read"));
        var lines = HlogAssert.WellFormed(log);
        Assert.That(lines, Has.Count.EqualTo(3));
        string text = System.Text.Encoding.UTF8.GetString(log);
        Assert.That(text, Does.StartWith("#[Histogram log format version 1.3]\n"));
        Assert.That(text, Does.Contain("#[StartTime: 1795521600.250 (seconds since epoch), 2026-11-24T12:00:00.250Z]\n"));
        Assert.That(text, Does.Contain("#[BaseTime: 1795521600.250 (seconds since epoch)]\n"));
        // Interval_Max in milliseconds (ratio 1,000,000): a's largest value is 2.5 ms within its bucket.
        Assert.That(lines[0], Does.StartWith("0.000,1.000,2.50"));
        Assert.That(lines[2], Does.StartWith("Tag=read,1.000,1.000,0.015,"));

        var read = HlogAssert.Read(log);
        Assert.That(read, Has.Count.EqualTo(3));
        Assert.That(read.Select(h => h.Tag), Is.EqualTo(new string?[] { null, null, "read" }));
        Assert.That(HlogAssert.Buckets(read[0]), Is.EqualTo(HlogAssert.Buckets(a)));
        Assert.That(HlogAssert.Buckets(read[1]), Is.EqualTo(HlogAssert.Buckets(b)));
        // Timestamps relative to BaseTime: the reader adds it back (milliseconds since the epoch).
        Assert.That(read[1].StartTimeStamp, Is.EqualTo(Start.ToUnixTimeMilliseconds() + 1000).Within(1));
        Assert.That(read[1].EndTimeStamp - read[1].StartTimeStamp, Is.EqualTo(1000).Within(1));
    }

    [Test]
    public void CommentsStayOnOneLine()
    {
        var stream = new MemoryStream();
        using (var log = new HistogramLogFile(stream)) log.WriteHeader(Start, ["[job 'a\nb']"]);
        string text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.That(text, Does.Contain("#[job 'a b']\n"));
    }
}
