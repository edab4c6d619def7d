namespace Orion.Pmd.Engine;

public sealed partial class PmdEngine
{
    /// <summary>
    /// The Orion.Pmd release this engine is, as <c>MAJOR.MINOR.PATCH[-SUFFIX]</c> (the packages' version, set once in the
    /// repository's Directory.Build.props); the tools print it for <c>--version</c>.
    /// </summary>
    public static string Version => ReleaseVersion.Current;
}
