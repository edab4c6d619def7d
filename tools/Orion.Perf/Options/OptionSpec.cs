namespace Orion.Perf.Options;

/// <summary>One supported command-line option: its fio name, aliases, help line and how it changes the job.</summary>
/// <param name="Name">The fio name, without dashes (<c>iodepth</c>, <c>output-format</c>).</param>
/// <param name="Aliases">Other names fio accepts for it (<c>readwrite</c> for <c>rw</c>).</param>
/// <param name="ValueHint">The value placeholder for help (<c>INT</c>), or null for a boolean flag.</param>
/// <param name="Help">One line of help, including the default.</param>
/// <param name="Apply">Returns the job with the value applied; throws <see cref="OptionValueException"/> for a bad value.</param>
internal sealed record OptionSpec(string Name, string[] Aliases, string? ValueHint, string Help, Func<JobOptions, string, JobOptions> Apply)
{
    /// <summary>A flag takes no separate value: <c>--time_based</c>, or <c>--time_based=0</c>.</summary>
    public bool IsFlag => ValueHint is null;

    /// <summary>How the option is written in help: <c>--bs=SIZE</c>.</summary>
    public string Usage => IsFlag ? $"--{Name}" : $"--{Name}={ValueHint}";

    /// <summary>Given without a value, the option takes the empty string (fio's log file names: the job's name) rather than needing one.</summary>
    public bool EmptyWhenBare { get; init; }

    /// <summary>Every name the option answers to.</summary>
    public IEnumerable<string> Names => Aliases.Prepend(Name);
}

/// <summary>A bad option value; the message names the option and says what would be right.</summary>
internal sealed class OptionValueException(string message) : Exception(message);
