namespace Orion.Pmd.Engine.Tests.VhostUser.Support;

/// <summary>Where a tool of this repository (tools/...) was built, beside the test assembly's configuration and target framework.</summary>
internal static class BuiltTool
{
    /// <summary>
    /// <c>tools/<paramref name="project"/>/bin/&lt;Configuration&gt;/&lt;tfm&gt;/<paramref name="dll"/></c>: the test assembly lives in
    /// tests/Orion.Pmd.Engine.Tests/bin/&lt;Configuration&gt;/&lt;tfm&gt;/, the tool in the same configuration.
    /// </summary>
    public static string Find(string project, string dll)
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        string tfm = bin.Name, configuration = bin.Parent?.Name ?? "Release";
        for (var d = bin; d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Orion.Pmd.sln")))
                return Path.Combine(d.FullName, "tools", project, "bin", configuration, tfm, dll);
        return Path.Combine("tools", project, "bin", "Release", "net10.0", dll);
    }
}
