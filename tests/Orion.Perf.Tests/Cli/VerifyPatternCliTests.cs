using Orion.Perf.Options;
using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Cli;

/// <summary>fio's verify=pattern and verify=meta with verify_pattern and verify_interval, and a read job verifying what another wrote.</summary>
[NonParallelizable]
public class VerifyPatternCliTests
{
    private static JobOptions Options(params string[] args) => Tests.Options.ParseKit.Ok(args);

    private static byte[] Read(Orion.Pmd.Engine.BlockDevice device, long byteOffset, int bytes)
    {
        var data = new byte[bytes];
        device.ReadAsync(byteOffset / device.BlockSize, data).AsTask().GetAwaiter().GetResult();
        return data;
    }

    [Test]
    [CancelAfter(60_000)]
    public void PatternVerifyDetectsACorruptedBlock()
    {
        byte[] seen = [];
        var options = Options("--rw=write", "--bs=4k", "--iodepth=4", "--size=1M", "--device=mem:16M", "--verify=pattern", "--verify_pattern=0xaa555aa5");
        var session = new JobSession
        {
            BeforeReadBack = device =>
            {
                seen = Read(device, 8192, 4096);
                FioFeatureCliTests.Corrupt(device, byteOffset: 65536 + 1000);
            },
        };
        var result = JobExecution.Execute(options, status: null, CancellationToken.None, session);
        Assert.That(seen.Chunk(4).All(c => c.SequenceEqual(new byte[] { 0xaa, 0x55, 0x5a, 0xa5 })), Is.True, "a written block is the pattern, nothing else");
        var v = result.Verify!;
        Assert.That(v.Checked, Is.EqualTo(256));
        Assert.That(v.Mismatches, Is.EqualTo(1));
        var m = v.FirstMismatches.Single();
        Assert.That((m.Offset, m.PatternMismatchAt), Is.EqualTo((65536L, 1000)));
        Assert.That(m.Problems().Single(), Does.StartWith("byte 1000 of the block is not verify_pattern"));
        Assert.That(result.Error, Is.EqualTo(84));
    }

    [Test]
    [CancelAfter(60_000)]
    public void MetaHeadersEveryVerifyIntervalWithThePatternAfterEach()
    {
        byte[] seen = [];
        var options = Options("--rw=write", "--bs=64k", "--iodepth=2", "--size=1M", "--device=mem:16M", "--verify=meta",
                              "--verify_pattern=0xaa555aa5", "--verify_interval=512");
        var session = new JobSession
        {
            BeforeReadBack = device =>
            {
                seen = Read(device, 0, 4096);
                FioFeatureCliTests.Corrupt(device, byteOffset: 512 * 10 + 100);      // data after block 10's header
                FioFeatureCliTests.Corrupt(device, byteOffset: 512 * 20 + 16);       // block 20's header: its offset field
            },
        };
        var v = JobExecution.Execute(options, status: null, CancellationToken.None, session).Verify!;
        var header = Orion.Perf.Verify.VerifyHeader.Read(seen.AsSpan(512));
        Assert.That((header.Magic, header.Type, header.Length, header.Offset), Is.EqualTo(((ushort)0xacca, (ushort)1, 512u, 512L)), "a meta header (fio's type 1) every 512 bytes");
        Assert.That(header.Crc, Is.EqualTo(Orion.Perf.Verify.VerifyHeader.ComputeHeaderCrc(seen.AsSpan(512))), "sealed by its own crc");
        Assert.That(seen.AsSpan(512 + 40, 472).ToArray().Chunk(4).All(c => c.SequenceEqual(new byte[] { 0xaa, 0x55, 0x5a, 0xa5 })), Is.True);
        Assert.That(v.Checked, Is.EqualTo(2048), "1 MiB in 512-byte blocks");
        Assert.That(v.Mismatches, Is.EqualTo(2));
        Assert.That(v.FirstMismatches.Select(m => m.Offset), Is.EqualTo(new long[] { 5120, 10240 }));
        Assert.That(v.FirstMismatches[0].PatternMismatchAt, Is.EqualTo(100), "the header held; the pattern did not");
        Assert.That(v.FirstMismatches[1].Problems()[0], Does.Contain("misdirected write"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AReadJobVerifiesWhatAnEarlierRunWrote()
    {
        string dir = Directory.CreateTempSubdirectory("orion-verify-").FullName;
        try
        {
            string device = $"--device=file:{Path.Combine(dir, "disk.img")},size=4M";
            string[] common = ["--bs=64k", "--size=2M", "--verify=meta", "--verify_pattern=0xaa555aa5", "--verify_interval=512", "--output-format=json"];
            var err = new StringWriter();
            Assert.That(PerfCommand.Run([.. common, device, "--rw=write", "--do_verify=0"], new StringWriter(), err), Is.Zero, err.ToString());

            var clean = new StringWriter();
            Assert.That(PerfCommand.Run([.. common, device, "--rw=read"], clean, err), Is.Zero, err.ToString());
            Assert.That(clean.ToString(), Does.Contain("\"checked_inline\": 4096"), "every 512-byte block of the 2 MiB checked as it was read");

            using (var f = File.Open(Path.Combine(dir, "disk.img"), FileMode.Open))
            {
                f.Position = 300_000;
                f.WriteByte(0x00);
            }
            var bad = new StringWriter();
            int code = PerfCommand.Run([.. common, device, "--rw=read"], new StringWriter(), bad);
            Assert.That(code, Is.EqualTo(4), bad.ToString());
            Assert.That(bad.ToString(), Does.Contain($"first at offset {300_000 / 512 * 512}"));

            // Past what was written there is no header: the read job says so rather than passing.
            var unwritten = new StringWriter();
            Assert.That(PerfCommand.Run([.. common, device, "--rw=read", "--offset=2M"], new StringWriter(), unwritten), Is.EqualTo(4));
            Assert.That(unwritten.ToString(), Does.Contain("no verify header"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
