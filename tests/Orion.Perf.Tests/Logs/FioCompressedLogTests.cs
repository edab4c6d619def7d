namespace Orion.Perf.Tests.Logs;

/// <summary>
/// log_compression with log_store_compressed: the logs are stored as fio stores them (<c>.log.fz</c>, a zlib stream per
/// chunk of binary samples), and the real <c>fio --inflate-log</c> turns them back into fio's text log.
/// </summary>
[NonParallelizable]
public class FioCompressedLogTests
{
    [Test]
    [CancelAfter(60_000)]
    public void FioInflatesWhatOrionPerfStoredCompressed()
    {
        string fio = FioTool.Require("fio", "fio");
        string dir = Directory.CreateTempSubdirectory("fio-fz-").FullName;
        try
        {
            string prefix = Path.Combine(dir, "run");
            var err = new StringWriter();
            // 4 KiB chunks hold 102 samples of 40 bytes: 256 writes make three zlib streams.
            int code = PerfCommand.Run(["--device=mem:16M", "--size=1M", "--bs=4k", "--rw=randwrite", $"--write_lat_log={prefix}", "--log_offset=1",
                                        "--log_compression=4k", "--log_store_compressed=1"], new StringWriter(), err);
            Assert.That(code, Is.Zero, err.ToString());
            Assert.That(File.Exists(prefix + "_clat.1.log"), Is.False, "stored compressed, under fio's .fz name");
            string fz = prefix + "_clat.1.log.fz";
            Assert.That(File.ReadAllBytes(fz)[0], Is.EqualTo(0x78), "a zlib stream");

            var (rc, text, ferr) = FioTool.Run(fio, [$"--inflate-log={fz}"], dir);
            Assert.That(rc, Is.Zero, ferr);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines, Has.Length.EqualTo(256), "one sample per write, across the three chunks");
            var offsets = new HashSet<long>();
            foreach (var line in lines)
            {
                var f = line.Split(", ");
                Assert.That(f, Has.Length.EqualTo(6), line);
                Assert.That(long.Parse(f[1]), Is.GreaterThan(0), "clat in ns");
                Assert.That((f[2], f[3], f[5]), Is.EqualTo(("1", "4096", "0")), "a write of 4096 bytes, no real-time priority");
                offsets.Add(long.Parse(f[4]));
            }
            Assert.That(offsets, Has.Count.EqualTo(256).And.All.Matches<long>(o => o % 4096 == 0 && o < 1 << 20), "every block once (the random map)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void StoringCompressedNeedsAChunkSize()
    {
        var err = new StringWriter();
        Assert.That(PerfCommand.Run(["--device=null:16M", "--rw=read", "--write_lat_log=x", "--log_store_compressed=1"], new StringWriter(), err), Is.EqualTo(1));
        Assert.That(err.ToString(), Does.Contain("--log_store_compressed: give the chunk size with --log_compression"));
    }
}
