using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using HdrHistogram;

namespace Orion.Perf.Reporting;

/// <summary>
/// HdrHistogram's interval log (<c>.hlog</c>, log format 1.3) as its Java <c>HistogramLogWriter</c> writes it, so
/// <c>HistogramLogProcessor</c>, Python's <c>hdrh</c> and the .NET reader all read it: UTF-8 without a BOM, <c>\n</c>
/// line ends, the <c>#[StartTime: ...]</c> and <c>#[BaseTime: ...]</c> comments, the legend, then one line per
/// interval: start (seconds after the base time), length (seconds), the interval's largest value divided by
/// <see cref="MaxValueUnitRatio"/>, and the base64 of the histogram in the V2 compressed encoding (cookie
/// <c>0x1c849314</c>, then a zlib stream with its header and Adler-32, as Java's <c>encodeIntoCompressedByteBuffer</c>
/// writes it). Lines of one direction of a mixed job carry a <c>Tag=read,</c> prefix.
/// </summary>
/// <remarks>
/// HdrHistogram.NET 2.5.0's own <c>HistogramLogWriter</c> is not used: it writes UTF-16 with a BOM, and its
/// compressed payload has a non-default zlib header and no Adler-32 trailer, which zlib-based readers reject.
/// </remarks>
internal sealed class HistogramLogFile : IDisposable
{
    /// <summary>Values are nanoseconds; Interval_Max is written in milliseconds, Java's default ratio.</summary>
    public const double MaxValueUnitRatio = 1_000_000.0;

    /// <summary>The V2 encoding cookie with the word-size nibble Java writes (0x10: ZigZag LEB128 counts).</summary>
    public const int EncodingCookie = 0x1c849303 | 0x10;

    /// <summary>The V2 compressed encoding cookie.</summary>
    public const int CompressedEncodingCookie = 0x1c849304 | 0x10;

    /// <summary>The column legend line.</summary>
    public const string Legend = "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly StreamWriter _w;

    /// <summary>Writes to <paramref name="stream"/> (closed with this object).</summary>
    public HistogramLogFile(Stream stream)
    {
        _w = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" };
    }

    /// <summary>
    /// The header: format version, <paramref name="comments"/> (one line each), start and base time (both
    /// <paramref name="start"/>: interval timestamps are seconds after it), and the legend.
    /// </summary>
    public void WriteHeader(DateTimeOffset start, IEnumerable<string> comments)
    {
        _w.WriteLine("#[Histogram log format version 1.3]");
        foreach (var c in comments) _w.WriteLine("#" + Clean(c));
        double seconds = start.ToUnixTimeMilliseconds() / 1000.0;
        _w.WriteLine($"#[StartTime: {seconds.ToString("F3", Inv)} (seconds since epoch), {start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", Inv)}]");
        _w.WriteLine($"#[BaseTime: {seconds.ToString("F3", Inv)} (seconds since epoch)]");
        _w.WriteLine(Legend);
        _w.Flush();
    }

    /// <summary>One interval: <paramref name="startSeconds"/> after the base time, <paramref name="lengthSeconds"/> long.</summary>
    public void WriteInterval(double startSeconds, double lengthSeconds, LongHistogram histogram, string? tag = null)
    {
        string max = (histogram.TotalCount == 0 ? 0 : histogram.GetMaxValue() / MaxValueUnitRatio).ToString("F3", Inv);
        string line = $"{Math.Max(0, startSeconds).ToString("F3", Inv)},{Math.Max(0, lengthSeconds).ToString("F3", Inv)},{max},{Convert.ToBase64String(EncodeCompressed(histogram))}";
        _w.WriteLine(tag is null ? line : $"Tag={tag},{line}");
        _w.Flush();
    }

    public void Dispose() => _w.Dispose();

    /// <summary>A comment's text kept on one line.</summary>
    private static string Clean(string text) =>
        new(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());

    /// <summary>Java's <c>encodeIntoCompressedByteBuffer</c>: the compressed cookie, the compressed length, then the zlib stream of <see cref="EncodeV2"/>.</summary>
    public static byte[] EncodeCompressed(LongHistogram histogram)
    {
        byte[] plain = EncodeV2(histogram);
        using var output = new MemoryStream();
        Span<byte> header = stackalloc byte[8];
        output.Write(header);                            // cookie and length, filled in below
        using (var z = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true)) z.Write(plain);
        byte[] bytes = output.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), CompressedEncodingCookie);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), bytes.Length - 8);
        return bytes;
    }

    /// <summary>
    /// Java's V2 <c>encodeIntoByteBuffer</c>, big-endian: cookie, payload length, normalizing index offset (0),
    /// significant digits, lowest discernible and highest trackable value, the integer-to-double ratio (1.0), then the
    /// counts up to the largest recorded value as ZigZag LEB128-64b9B numbers, a run of zeros as its negated length.
    /// </summary>
    public static byte[] EncodeV2(LongHistogram histogram)
    {
        var counts = Counts(histogram);
        var payload = new List<byte>(counts.Length);
        for (int i = 0; i < counts.Length;)
        {
            long count = counts[i++];
            if (count == 0)
            {
                long zeros = 1;
                while (i < counts.Length && counts[i] == 0)
                {
                    zeros++;
                    i++;
                }
                PutZigZag(payload, zeros > 1 ? -zeros : 0);
            }
            else PutZigZag(payload, count);
        }
        var bytes = new byte[40 + payload.Count];
        var s = bytes.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(s[0..], EncodingCookie);
        BinaryPrimitives.WriteInt32BigEndian(s[4..], payload.Count);
        BinaryPrimitives.WriteInt32BigEndian(s[8..], 0);
        BinaryPrimitives.WriteInt32BigEndian(s[12..], histogram.NumberOfSignificantValueDigits);
        BinaryPrimitives.WriteInt64BigEndian(s[16..], histogram.LowestTrackableValue);
        BinaryPrimitives.WriteInt64BigEndian(s[24..], histogram.HighestTrackableValue);
        BinaryPrimitives.WriteDoubleBigEndian(s[32..], 1.0);
        payload.CopyTo(bytes, 40);
        return bytes;
    }

    /// <summary>The counts array up to the largest recorded value's index (HdrHistogram's bucket layout).</summary>
    internal static long[] Counts(LongHistogram histogram)
    {
        var layout = new Layout(histogram.LowestTrackableValue, histogram.NumberOfSignificantValueDigits);
        var recorded = histogram.TotalCount == 0 ? [] : histogram.RecordedValues().Select(v => (Index: layout.IndexOf(v.ValueIteratedTo), v.CountAtValueIteratedTo)).ToList();
        var counts = new long[recorded.Count == 0 ? 1 : recorded[^1].Index + 1];
        foreach (var (index, count) in recorded) counts[index] += count;
        return counts;
    }

    /// <summary>ZigZag, then LEB128 with at most 9 bytes: 8 of 7 bits, the 9th with the 8 left.</summary>
    private static void PutZigZag(List<byte> into, long value)
    {
        ulong v = (ulong)((value << 1) ^ (value >> 63));
        for (int i = 0; i < 8; i++)
        {
            if (v >> 7 == 0)
            {
                into.Add((byte)v);
                return;
            }
            into.Add((byte)((v & 0x7F) | 0x80));
            v >>= 7;
        }
        into.Add((byte)v);
    }

    /// <summary>HdrHistogram's value-to-index mapping (Java's <c>countsArrayIndex</c>).</summary>
    internal readonly struct Layout
    {
        private readonly int _unitMagnitude, _subBucketHalfCountMagnitude, _subBucketHalfCount, _leadingZeroCountBase;
        private readonly long _subBucketMask;

        public Layout(long lowestDiscernibleValue, int significantDigits)
        {
            long largestValueWithSingleUnitResolution = 2 * (long)Math.Pow(10, significantDigits);
            int subBucketCountMagnitude = 64 - BitOperations.LeadingZeroCount((ulong)(largestValueWithSingleUnitResolution - 1));   // ceil(log2)
            _subBucketHalfCountMagnitude = Math.Max(subBucketCountMagnitude, 1) - 1;
            _unitMagnitude = BitOperations.Log2((ulong)lowestDiscernibleValue);
            int subBucketCount = 1 << (_subBucketHalfCountMagnitude + 1);
            _subBucketHalfCount = subBucketCount / 2;
            _subBucketMask = ((long)subBucketCount - 1) << _unitMagnitude;
            _leadingZeroCountBase = 64 - _unitMagnitude - _subBucketHalfCountMagnitude - 1;
        }

        public int IndexOf(long value)
        {
            int bucketIndex = _leadingZeroCountBase - BitOperations.LeadingZeroCount((ulong)(value | _subBucketMask));
            int subBucketIndex = (int)((ulong)value >> (bucketIndex + _unitMagnitude));
            return ((bucketIndex + 1) << _subBucketHalfCountMagnitude) + (subBucketIndex - _subBucketHalfCount);
        }
    }
}
