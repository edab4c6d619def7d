namespace Orion.Vhost.Tests;

/// <summary>stderr for the journal: a syslog level in front of each line when systemd reads it, plain lines otherwise.</summary>
public class JournalWriterTests
{
    [Test]
    public void EachLineGetsItsLevelUnderSystemd()
    {
        var inner = new StringWriter();
        var w = JournalWriter.For(inner, journalStream: "8:12345");
        w.WriteLine("orion-vhost: error: cannot open device file:/x: No such file");
        w.WriteLine("vhost-user: refused SetMemTable: region 0 is not sealed");
        w.Write("orion-vhost: serving ");
        w.WriteLine("mem:16M");
        w.WriteLine("orion-vhost: stopped");
        Assert.That(inner.ToString(), Is.EqualTo(
            "<3>orion-vhost: error: cannot open device file:/x: No such file\n" +
            "<4>vhost-user: refused SetMemTable: region 0 is not sealed\n" +
            "<6>orion-vhost: serving mem:16M\n" +
            "<6>orion-vhost: stopped\n"));
    }

    [TestCase(null)]
    [TestCase("")]
    public void WithoutSystemdTheLinesArePlain(string? journalStream)
    {
        var inner = new StringWriter();
        Assert.That(JournalWriter.For(inner, journalStream), Is.SameAs(inner));
    }
}
