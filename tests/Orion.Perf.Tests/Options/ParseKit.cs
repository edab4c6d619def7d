using Orion.Perf.Options;

namespace Orion.Perf.Tests.Options;

/// <summary>Command-line parsing for option tests: a parse that must succeed, and one that must fail with a message.</summary>
internal static class ParseKit
{
    /// <summary>Parses <paramref name="args"/>, asserting success (the parser's message explains a failure).</summary>
    public static JobOptions Ok(params string[] args)
    {
        var outcome = JobOptionsParser.Parse(args);
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Success), outcome.Message);
        return outcome.Options!;
    }

    /// <summary>Parses <paramref name="args"/>, asserting an error, and returns its message.</summary>
    public static string Error(params string[] args)
    {
        var outcome = JobOptionsParser.Parse(args);
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Error), "expected an error");
        return outcome.Message;
    }
}
