namespace Orion.Perf.Options;

/// <summary>What the command line asked for.</summary>
public enum ParseOutcomeKind
{
    /// <summary>Run a job: <see cref="ParseOutcome.Options"/> is set and valid.</summary>
    Success,
    /// <summary><c>--help</c>: print <see cref="ParseOutcome.Message"/> (the usage text) and exit 0.</summary>
    Help,
    /// <summary><c>--version</c>: print <see cref="ParseOutcome.Message"/> and exit 0.</summary>
    Version,
    /// <summary>The command line is wrong: print <see cref="ParseOutcome.Message"/> to standard error and exit non-zero.</summary>
    Error,
}

/// <summary>The result of <see cref="JobOptionsParser.Parse"/>.</summary>
public sealed record ParseOutcome
{
    /// <summary>What was asked for.</summary>
    public required ParseOutcomeKind Kind { get; init; }

    /// <summary>The job to run, when <see cref="Kind"/> is <see cref="ParseOutcomeKind.Success"/>.</summary>
    public JobOptions? Options { get; init; }

    /// <summary>
    /// Every job to run, in order: the one job of a command line, or each section of the job files given to
    /// <see cref="JobOptionsParser.ParseJobs"/>. <see cref="Options"/> is the first.
    /// </summary>
    public IReadOnlyList<JobOptions> Jobs { get; init; } = [];

    /// <summary>Things worth telling the user that do not stop the run (job-file keys we accept but do not use), one per line.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The command-line options as the job files' globals (before any file is read); internal to the parser.</summary>
    internal JobOptions? GlobalOptions { get; init; }

    /// <summary>The notes gathered while parsing the command line, carried on into the job files; internal to the parser.</summary>
    internal CompatNotes? Compat { get; init; }

    /// <summary>The option names the command line set, alongside <see cref="GlobalOptions"/>.</summary>
    internal IReadOnlySet<string> GlobalGiven { get; init; } = new HashSet<string>();

    /// <summary>The text to print for help, version and errors (errors one per line); empty on success.</summary>
    public string Message { get; init; } = "";

    /// <summary>Each problem found, when <see cref="Kind"/> is <see cref="ParseOutcomeKind.Error"/>.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Whether the job can run.</summary>
    public bool IsSuccess => Kind == ParseOutcomeKind.Success;

    internal static ParseOutcome Success(JobOptions options) => new() { Kind = ParseOutcomeKind.Success, Options = options, Jobs = [options] };

    internal static ParseOutcome Success(IReadOnlyList<JobOptions> jobs, IReadOnlyList<string> notes) =>
        new() { Kind = ParseOutcomeKind.Success, Options = jobs[0], Jobs = jobs, Notes = notes };

    /// <summary>A syntactically good command line given with job files: its options are globals, not yet a job.</summary>
    internal static ParseOutcome Globals(JobOptions globals, IReadOnlySet<string> given, IReadOnlyList<JobOptions> jobs, CompatNotes compat) =>
        new() { Kind = ParseOutcomeKind.Error, GlobalOptions = globals, GlobalGiven = given, Jobs = jobs, Compat = compat };

    internal static ParseOutcome Help(string usage) => new() { Kind = ParseOutcomeKind.Help, Message = usage };

    internal static ParseOutcome VersionText(string text) => new() { Kind = ParseOutcomeKind.Version, Message = text };

    internal static ParseOutcome Failure(IReadOnlyList<string> errors) =>
        new() { Kind = ParseOutcomeKind.Error, Errors = errors, Message = string.Join(Environment.NewLine, errors) };
}
