using Orion.Perf.Options;

namespace Orion.Perf.Workload;

/// <summary>
/// The sizes a job's I/Os take, per direction (read, write, trim), in device blocks, with their weights: fio's
/// <c>bssplit</c> (percentages), <c>bsrange</c> (MIN to MAX in multiples of MIN, weighted as fio's draw of
/// <c>MIN + random % (MAX - MIN + 1)</c> aligned down to MIN falls), or <c>bs=R,W,T</c>. Allocation-free per draw.
/// </summary>
internal sealed class BlockSizeTable
{
    private readonly int[][] _blocks = new int[3][];
    private readonly long[][] _cumulative = new long[3][];

    public BlockSizeTable(JobOptions o, int deviceBlockSize)
    {
        for (int d = 0; d < 3; d++)
        {
            var sizes = new List<(int Bytes, long Weight)>();
            if (o.SplitOf(d) is { } split) sizes.AddRange(split.Select(s => (s.Bytes, (long)s.Percent)));
            else if (o.BlockSizeRange is var (min, max))
            {
                for (long k = 1; k * min <= max; k++)
                    sizes.Add(((int)(k * min), (k + 1) * min <= max ? min : max - k * min + 1));
            }
            else sizes.Add((o.BlockSizeOf(d), 1));
            sizes.RemoveAll(s => s.Weight <= 0);
            _blocks[d] = sizes.Select(s => s.Bytes / deviceBlockSize).ToArray();
            long running = 0;
            _cumulative[d] = sizes.Select(s => running += s.Weight).ToArray();
        }
    }

    /// <summary>Whether every I/O of every direction has the same size.</summary>
    public bool IsUniform => _blocks.All(b => b.Length == 1 && b[0] == _blocks[0][0]);

    /// <summary>The sizes of direction <paramref name="d"/>, in device blocks.</summary>
    public IReadOnlyList<int> Blocks(int d) => _blocks[d];

    /// <summary>The size of the next I/O in direction <paramref name="d"/>, in device blocks.</summary>
    public int Next(int d, ref ulong rng)
    {
        var blocks = _blocks[d];
        if (blocks.Length == 1) return blocks[0];
        var cumulative = _cumulative[d];
        long draw = (long)(OffsetDistribution.NextRandom(ref rng) % (ulong)cumulative[^1]);
        for (int i = 0; i < cumulative.Length; i++)
            if (draw < cumulative[i]) return blocks[i];
        return blocks[^1];
    }
}
