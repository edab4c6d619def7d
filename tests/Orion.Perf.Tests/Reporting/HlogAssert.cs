using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using HdrHistogram;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

/// <summary>Checks of HdrHistogram interval logs at the byte level, and reading them back with HdrHistogram.NET's own reader.</summary>
internal static class HlogAssert
{
    /// <summary>Every histogram in the log, read by HdrHistogram.NET's <see cref="HistogramLogReader"/>.</summary>
    public static List<HistogramBase> Read(byte[] log)
    {
        using var stream = new MemoryStream(log);
        using var reader = new HistogramLogReader(stream);
        return reader.ReadHistograms().ToList();
    }

    /// <summary>
    /// The file is UTF-8 without a BOM, has the standard header lines, and every interval's payload is a V2
    /// compressed histogram: the compressed cookie, the length, then a zlib stream with a valid header and Adler-32
    /// that <see cref="ZLibStream"/> inflates to a V2 histogram. Returns the interval lines.
    /// </summary>
    public static List<string> WellFormed(byte[] log)
    {
        Assert.That(log.Take(3), Is.Not.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }), "no UTF-8 BOM");
        Assert.That(log.Take(2), Is.Not.EqualTo(new byte[] { 0xFF, 0xFE }), "not UTF-16");
        string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(log);      // throws on invalid UTF-8
        var lines = text.Split('\n');
        Assert.That(lines[^1], Is.Empty, "the last line ends with \\n");
        Assert.That(lines.Any(l => l.StartsWith("#[StartTime: ", StringComparison.Ordinal) && l.Contains(" (seconds since epoch), ")), Is.True, "StartTime");
        Assert.That(lines.Any(l => l.StartsWith("#[BaseTime: ", StringComparison.Ordinal) && l.EndsWith(" (seconds since epoch)]", StringComparison.Ordinal)), Is.True, "BaseTime");
        Assert.That(lines, Does.Contain("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""));
        Assert.That(text, Does.Not.Contain("\r"));
        var intervals = lines.Where(l => l.Length > 0 && l[0] != '#' && l[0] != '"').ToList();
        foreach (var line in intervals)
        {
            var fields = (line.StartsWith("Tag=", StringComparison.Ordinal) ? line[(line.IndexOf(',') + 1)..] : line).Split(',');
            Assert.That(fields, Has.Length.EqualTo(4), line);
            foreach (var number in fields[..3]) Assert.That(number, Does.Match(@"^\d+\.\d{3}$"), line);
            Payload(Convert.FromBase64String(fields[3]));
        }
        return intervals;
    }

    /// <summary>One V2 compressed histogram: checks it as Java's decoder reads it; returns the inflated V2 encoding.</summary>
    public static byte[] Payload(byte[] payload)
    {
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(payload), Is.EqualTo(0x1c849314), "V2 compressed cookie");
        int length = BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(4));
        Assert.That(length, Is.EqualTo(payload.Length - 8), "compressed length");
        byte cmf = payload[8], flg = payload[9];
        Assert.That(cmf, Is.EqualTo(0x78), "zlib: deflate with a 32 KiB window");
        Assert.That((cmf * 256 + flg) % 31, Is.Zero, "zlib header check bits");
        Assert.That(flg & 0x20, Is.Zero, "no preset dictionary");
        byte[] plain;
        using (var z = new ZLibStream(new MemoryStream(payload, 8, length), CompressionMode.Decompress))
        using (var into = new MemoryStream())
        {
            z.CopyTo(into);
            plain = into.ToArray();
        }
        uint adler = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(payload.Length - 4));
        Assert.That(adler, Is.EqualTo(Adler32(plain)), "Adler-32 of the inflated data");
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(plain), Is.EqualTo(0x1c849313), "V2 encoding cookie");
        Assert.That(BinaryPrimitives.ReadInt32BigEndian(plain.AsSpan(4)), Is.EqualTo(plain.Length - 40), "V2 payload length");
        return plain;
    }

    /// <summary>RFC 1950's Adler-32.</summary>
    public static uint Adler32(byte[] data)
    {
        uint a = 1, b = 0;
        foreach (byte x in data)
        {
            a = (a + x) % 65521;
            b = (b + a) % 65521;
        }
        return (b << 16) | a;
    }

    /// <summary>Every histogram of <paramref name="parts"/> added into one.</summary>
    public static LongHistogram Sum(IEnumerable<HistogramBase> parts)
    {
        var sum = new LongHistogram(1, 60_000_000_000L, 3);
        foreach (var p in parts) sum.Add(p);
        return sum;
    }

    /// <summary>(value, count) of every non-empty bucket.</summary>
    public static List<(long, long)> Buckets(HistogramBase h) =>
        h.TotalCount == 0 ? [] : h.RecordedValues().Select(v => (v.ValueIteratedTo, v.CountAtValueIteratedTo)).ToList();

    /// <summary>Writes one log of <paramref name="histograms"/> with <see cref="HistogramLogFile"/> and returns its bytes.</summary>
    public static byte[] Write(DateTimeOffset start, params (double Start, double Length, LongHistogram H, string? Tag)[] histograms)
    {
        var stream = new MemoryStream();
        using (var log = new HistogramLogFile(stream))
        {
            log.WriteHeader(start, ["[test log]"]);
            foreach (var (s, l, h, tag) in histograms) log.WriteInterval(s, l, h, tag);
        }
        return stream.ToArray();
    }
}
