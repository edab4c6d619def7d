using System.Reflection;

namespace Orion.Pmd.Transport;

/// <summary>
/// The Orion.Pmd release these assemblies are, as <c>MAJOR.MINOR.PATCH[-SUFFIX]</c>: every package and tool carries
/// one version, set once in the repository's Directory.Build.props, so the lowest assembly the tools share reads it
/// (<c>PmdEngine.Version</c> and orion-vhost's <c>--version</c> print it).
/// </summary>
public static class ReleaseVersion
{
    /// <summary>The release, without the build's <c>+COMMIT</c>.</summary>
    public static string Current { get; } = Read();

    // The informational version is the package version plus "+COMMIT" from Source Link: the commit is build detail,
    // not part of the release's name.
    private static string Read()
    {
        var assembly = typeof(ReleaseVersion).Assembly;
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational)) return assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        int plus = informational.IndexOf('+');
        return plus < 0 ? informational : informational[..plus];
    }
}
