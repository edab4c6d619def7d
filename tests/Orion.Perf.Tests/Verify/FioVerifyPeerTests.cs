using System.Text.Json;
using System.Text.RegularExpressions;
using Orion.Perf.Tests.Logs;

namespace Orion.Perf.Tests.Verify;

/// <summary>
/// fio and orion-perf check each other's data: for every verify type, the real fio (Debian's <c>fio</c>) writes a small
/// file that <c>orion-perf --verify_only</c> checks, and orion-perf writes one that <c>fio --verify_only</c> checks;
/// then one byte is flipped and each side must name the block it is in. 64 KiB files, 4 KiB blocks: a few runs of
/// milliseconds per type.
/// </summary>
[TestFixture]
[NonParallelizable]
public class FioVerifyPeerTests
{
    private const int Bytes = 64 << 10;
    private const int Block = 4096;
    private const long CorruptBlock = 5;

    private string _dir = "";
    private string _fio = "";

    private static IEnumerable<string> Types() =>
        ["md5", "crc64", "crc32", "crc32c", "crc32c-intel", "crc16", "crc7", "sha1", "sha256", "sha512",
         "sha3-224", "sha3-256", "sha3-384", "sha3-512", "xxhash", "meta"];

    [SetUp]
    public void SetUp()
    {
        _fio = FioTool.Require("fio", "fio");
        var (_, version, _) = FioTool.Run(_fio, ["--version"], Path.GetTempPath());
        // fio 3.41 changed the header (a version byte, a 64-bit numberio): orion-perf writes the 2.x-3.40 layout.
        var m = Regex.Match(version, @"fio-3\.(\d+)");
        if (m.Success && int.Parse(m.Groups[1].Value) >= 41) Assert.Ignore($"{version.Trim()} uses the 3.41 verify header; these peers speak the 3.40 one");
        _dir = Directory.CreateTempSubdirectory("fio-peer-").FullName;
    }

    [TearDown]
    public void TearDown()
    {
        if (_dir.Length > 0) Directory.Delete(_dir, recursive: true);
    }

    private string[] Common(string type, string file) => [$"--filename={file}", $"--size={Bytes}", $"--bs={Block}", $"--verify={type}"];

    private static void FlipByte(string file, long offset)
    {
        using var f = File.Open(file, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0x5a));
    }

    /// <summary>orion-perf --verify_only on the file: exit code and the job's orion.verify section.</summary>
    private (int Code, JsonElement Verify, string Err) OrionVerifyOnly(string type, string file, params string[] extra)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run([.. Common(type, file), "--name=check", "--rw=write", "--verify_only", .. extra, "--output-format=json"], stdout, stderr);
        using var doc = JsonDocument.Parse(stdout.ToString());
        return (code, doc.RootElement.GetProperty("jobs")[0].GetProperty("orion").GetProperty("verify").Clone(), stderr.ToString());
    }

    [TestCaseSource(nameof(Types))]
    public void OrionPerfVerifiesWhatFioWrote(string type)
    {
        string file = Path.Combine(_dir, "by-fio");
        var (code, _, err) = FioTool.Run(_fio, ["--name=w", .. Common(type, file), "--rw=write", "--do_verify=0", "--output=/dev/null"], _dir);
        Assert.That(code, Is.Zero, err);

        var (ok, v, okErr) = OrionVerifyOnly(type, file);
        Assert.That(ok, Is.Zero, okErr);
        Assert.That(v.GetProperty("checked").GetInt64(), Is.EqualTo(Bytes / Block));
        Assert.That(v.GetProperty("mismatches").GetInt64(), Is.Zero);

        // meta has no checksum of the data (fio's data is random bytes with no pattern to hold): flip its header's
        // offset field instead. The others cover the data; the flip is near the block's end because fio's sha512 field
        // holds only the data's first 128 bytes and its tail after the last whole 128 (fio never finishes that hash).
        FlipByte(file, CorruptBlock * Block + (type == "meta" ? 16 : Block - 10));
        var (bad, vb, _) = OrionVerifyOnly(type, file);
        Assert.That(bad, Is.EqualTo(PerfCommand.VerifyFailedExitCode));
        Assert.That(vb.GetProperty("mismatches").GetInt64(), Is.EqualTo(1));
        var m = vb.GetProperty("first_mismatches")[0];
        Assert.That(m.GetProperty("offset").GetInt64(), Is.EqualTo(CorruptBlock * Block));
        Assert.That(m.GetProperty("problems")[0].GetString(), type == "meta" ? Does.Contain("misdirected write") : Does.StartWith($"{type} stored 0x"));
    }

    [TestCaseSource(nameof(Types))]
    public void FioVerifiesWhatOrionPerfWrote(string type)
    {
        string file = Path.Combine(_dir, "by-orion");
        var stderr = new StringWriter();
        Assert.That(PerfCommand.Run([.. Common(type, file), "--rw=write", "--do_verify=0", "--output-format=json"], new StringWriter(), stderr), Is.Zero, stderr.ToString());

        string[] check = ["--name=r", .. Common(type, file), "--rw=write", "--verify_only", "--output-format=json"];
        var (code, stdout, err) = FioTool.Run(_fio, check, _dir);
        Assert.That(code, Is.Zero, err + stdout);
        using (var doc = JsonDocument.Parse(stdout))
            Assert.That(doc.RootElement.GetProperty("jobs")[0].GetProperty("read").GetProperty("io_bytes").GetInt64(), Is.EqualTo(Bytes), "fio read every block");

        // A flip in the header's offset field: fio's own header check must name the block.
        FlipByte(file, CorruptBlock * Block + 16);
        var (badCode, _, badErr) = FioTool.Run(_fio, check, _dir);
        Assert.That(badCode, Is.Not.Zero);
        Assert.That(badErr, Does.Contain($"offset {CorruptBlock * Block}"));
    }

    [Test]
    public void APatternWhoseLengthDoesNotDivideTheIntervalKeepsFiosPhase()
    {
        // fio fills the whole 8 KiB I/O with "abc" and checks each 4 KiB interval from where the pattern stands there.
        string file = Path.Combine(_dir, "pattern");
        string[] opts = [$"--filename={file}", $"--size={Bytes}", "--bs=8k", "--verify=meta", "--verify_pattern=\"abc\"", "--verify_interval=4k"];
        var (code, _, err) = FioTool.Run(_fio, ["--name=w", .. opts, "--rw=write", "--do_verify=0", "--output=/dev/null"], _dir);
        Assert.That(code, Is.Zero, err);
        var stderr = new StringWriter();
        Assert.That(PerfCommand.Run([.. opts, "--rw=write", "--verify_only"], new StringWriter(), stderr), Is.Zero, stderr.ToString());

        File.Delete(file);
        Assert.That(PerfCommand.Run([.. opts, "--rw=randwrite", "--do_verify=0"], new StringWriter(), stderr), Is.Zero, stderr.ToString());
        (code, _, err) = FioTool.Run(_fio, ["--name=r", .. opts, "--rw=write", "--verify_only"], _dir);
        Assert.That(code, Is.Zero, err);
    }

    [Test]
    public void VerifyOffsetMovesTheHeaderAsFioDoes()
    {
        string file = Path.Combine(_dir, "offset");
        string[] opts = [.. Common("crc32c", file), "--verify_offset=512"];
        var stderr = new StringWriter();
        Assert.That(PerfCommand.Run([.. opts, "--rw=write", "--do_verify=0"], new StringWriter(), stderr), Is.Zero, stderr.ToString());
        var bytes = File.ReadAllBytes(file);
        Assert.That(BitConverter.ToUInt16(bytes, 512), Is.EqualTo(0xacca), "the header sits 512 bytes into the block");
        Assert.That(BitConverter.ToUInt16(bytes, 0), Is.Not.EqualTo(0xacca));
        var (code, _, err) = FioTool.Run(_fio, ["--name=r", .. opts, "--rw=write", "--verify_only"], _dir);
        Assert.That(code, Is.Zero, err);
        Assert.That(OrionVerifyOnly("crc32c", file, "--verify_offset=512").Code, Is.Zero);
        Assert.That(OrionVerifyOnly("crc32c", file).Code, Is.EqualTo(PerfCommand.VerifyFailedExitCode), "without verify_offset the header is not where the check looks");
    }
}
