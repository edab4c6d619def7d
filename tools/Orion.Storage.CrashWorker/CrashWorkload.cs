using System.Buffers.Binary;

namespace Orion.Storage.CrashWorker;

/// <summary>
/// What the crash worker writes and how the tests check it, shared by both (the test project compiles this file too).
/// Every record and page is self-describing, so a check can tell a record or page that is exactly what was written
/// from anything else. Report lines end with " $" so a line cut off by SIGKILL is never taken for a whole one.
/// </summary>
internal static class CrashWorkload
{
    public const int RecordHeaderBytes = 20;
    public const int PageHeaderBytes = 16;

    /// <summary>How the device is split: the log on the first half, the page store on the rest.</summary>
    public static long LogBlocks(long deviceBlocks) => deviceBlocks / 2;

    public const int Pages = 64;

    /// <summary>The record appender <paramref name="task"/> of round <paramref name="round"/> appends as its <paramref name="seq"/>th.</summary>
    public static byte[] Record(int round, int task, long seq)
    {
        int length = RecordHeaderBytes + (int)((seq * 7 + task * 13 + round) % 300);
        var data = new byte[length];
        BinaryPrimitives.WriteInt32LittleEndian(data, round);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), task);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), seq);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(16), length);
        for (int i = RecordHeaderBytes; i < length; i++) data[i] = (byte)(i * 31 + seq + task * 7 + round * 13);
        return data;
    }

    /// <summary>Whether <paramref name="data"/> is exactly a record <see cref="Record"/> makes; gives its identity.</summary>
    public static bool TryParseRecord(ReadOnlySpan<byte> data, out int round, out int task, out long seq)
    {
        round = task = 0;
        seq = 0;
        if (data.Length < RecordHeaderBytes) return false;
        round = BinaryPrimitives.ReadInt32LittleEndian(data);
        task = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        seq = BinaryPrimitives.ReadInt64LittleEndian(data[8..]);
        return round >= 0 && task >= 0 && seq >= 0 && data.SequenceEqual(Record(round, task, seq));
    }

    /// <summary>A page payload carrying <paramref name="page"/> and a token; its length and bytes follow from the token.</summary>
    public static byte[] Page(long page, long token)
    {
        var data = new byte[PageHeaderBytes + (int)((ulong)token % 4000)];
        BinaryPrimitives.WriteInt64LittleEndian(data, page);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), token);
        for (int i = PageHeaderBytes; i < data.Length; i++) data[i] = (byte)(i * 17 + token);
        return data;
    }

    /// <summary>Whether a page's full payload (<paramref name="payload"/>, zero-padded) is one <see cref="Page"/> made; gives its token.</summary>
    public static bool TryParsePage(ReadOnlySpan<byte> payload, long page, out long token)
    {
        token = BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
        if (BinaryPrimitives.ReadInt64LittleEndian(payload) != page) return false;
        var expected = Page(page, token);
        return payload[..expected.Length].SequenceEqual(expected) && payload[expected.Length..].IndexOfAnyExcept((byte)0) < 0;
    }
}
