using System.Reflection;

namespace Orion.Pmd.Engine;

public sealed partial class PmdEngine
{
    /// <summary>
    /// The Orion.Pmd release this engine is, as <c>MAJOR.MINOR.PATCH[-SUFFIX]</c> (the packages' version, set once in the
    /// repository's Directory.Build.props); the tools print it for <c>--version</c>.
    /// </summary>
    public static string Version { get; } = ReadVersion();

    // The informational version is the package version plus "+COMMIT" from Source Link: the commit is build detail,
    // not part of the release's name.
    private static string ReadVersion()
    {
        string? informational = typeof(PmdEngine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational)) return typeof(PmdEngine).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        int plus = informational.IndexOf('+');
        return plus < 0 ? informational : informational[..plus];
    }
}
