namespace Orion.Vhost.Tests;

/// <summary>orion-vhost's configuration file: the command line's options, one per line, and errors naming the line.</summary>
public class ConfigFileTests
{
    private static List<string> Parse(params string[] lines)
    {
        var args = new List<string>();
        Assert.That(ConfigFile.TryParse("f.conf", lines, args, out string error), Is.True, error);
        return args;
    }

    private static string Error(params string[] lines)
    {
        Assert.That(ConfigFile.TryParse("f.conf", lines, [], out string error), Is.False);
        return error;
    }

    [Test]
    public void LinesBecomeTheCommandLinesOptions()
    {
        Assert.That(Parse("# a comment", "", "socket = /run/x/vu.sock", "  queues=2  ", "readonly", "device = file:/d.img,size=1G,direct"),
                    Is.EqualTo(new[] { "--socket=/run/x/vu.sock", "--queues=2", "--readonly", "--device=file:/d.img,size=1G,direct" }));
    }

    [TestCase("sockett = /x", "f.conf line 1: unknown option 'sockett'")]
    [TestCase("--socket = /x", "f.conf line 1: '--socket': write option names without the leading dashes")]
    [TestCase("readonly = yes", "f.conf line 1: 'readonly' takes no value")]
    [TestCase("queues", "f.conf line 1: 'queues' needs a value: queues = VALUE")]
    [TestCase("queues =", "f.conf line 1: 'queues' needs a value")]
    [TestCase("config = other.conf", "f.conf line 1: unknown option 'config'")]
    public void ABadLineIsNamed(string line, string expected)
    {
        Assert.That(Error(line), Does.StartWith(expected));
    }

    [Test]
    public void TheErrorNamesTheLineNumber()
    {
        Assert.That(Error("# header", "socket = /x", "qeues = 2"), Does.StartWith("f.conf line 3: unknown option 'qeues'"));
    }

    [Test]
    public void TheCommandLineWinsOverTheFile()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ["socket = /tmp/from-file.sock", "device = mem:16M", "queues = 2"]);
            Assert.That(ConfigFile.TryExpand(["--queues", "4", $"--config={file}"], out var expanded, out string error), Is.True, error);
            Assert.That(CommandLine.TryParse(expanded, out var o, out error), Is.True, error);
            Assert.That((o!.SocketPath, o.Queues, o.Device.SizeBytes), Is.EqualTo(("/tmp/from-file.sock", 4, 16L << 20)));
        }
        finally { File.Delete(file); }
    }

    [Test]
    public void AMissingFileOrASecondConfigIsAnError()
    {
        Assert.That(ConfigFile.TryExpand(["--config", "/nonexistent/orion.conf"], out _, out string error), Is.False);
        Assert.That(error, Does.StartWith("--config /nonexistent/orion.conf: cannot read it"));
        Assert.That(ConfigFile.TryExpand(["--config", "a", "--config", "b"], out _, out error), Is.False);
        Assert.That(error, Does.Contain("given twice"));
        Assert.That(ConfigFile.TryExpand(["--config"], out _, out error), Is.False);
        Assert.That(error, Does.StartWith("--config needs a value"));
    }

    [Test]
    public void TheShippedExampleIsValid()
    {
        // tools/Orion.Vhost/systemd/orion-vhost.conf, copied beside the tests: it must keep parsing as the options change.
        string example = Path.Combine(AppContext.BaseDirectory, "systemd", "orion-vhost.conf");
        Assert.That(ConfigFile.TryExpand(["--config", example], out var expanded, out string error), Is.True, error);
        Assert.That(CommandLine.TryParse(expanded, out var o, out error), Is.True, error);
        Assert.That(o!.SocketPath, Is.EqualTo("/run/orion-vhost/vu.sock"));
    }
}
