using System.Xml.Linq;
using NUnit.Framework;

namespace Orion.Pmd.Engine.Tests.Layering;

/// <summary>
/// The layering is one-way: the project references of every shipped and tool project (engine/, reactors/, tools/,
/// perf/) are exactly the edges listed here, they form no cycle, and the built engine names no type of the software
/// device (it reaches every device through Orion.Pmd.Transport). A new edge is a design decision: add it here and to
/// docs/architecture.md's layer diagram in the same change.
/// </summary>
public class ProjectReferenceTests
{
    private static readonly string[] Allowed =
    [
        "Orion.Pmd.Reactors -> Orion.Pmd.Linux",
        "Orion.Pmd.Device -> Orion.Pmd.Virtio",
        "Orion.Pmd.Device -> Orion.Pmd.Linux",
        "Orion.Pmd.Device -> Orion.Pmd.Reactors",
        "Orion.Pmd.Transport -> Orion.Pmd.Device",
        "Orion.Pmd.Transport -> Orion.Pmd.Virtio",
        "Orion.Pmd.Transport -> Orion.Pmd.Reactors",
        "Orion.Pmd.Transport -> Orion.Pmd.Linux",
        "Orion.Pmd.Engine -> Orion.Pmd.Transport",
        "Orion.Pmd.Engine -> Orion.Pmd.Virtio",
        "Orion.Pmd.Engine -> Orion.Pmd.Reactors",
        "Orion.Pmd.Engine -> Orion.Pmd.Linux",
        "Orion.Pmd.Storage -> Orion.Pmd.Engine",
        "Orion.Pmd.Hosting -> Orion.Pmd.Engine",
        "Orion.Perf -> Orion.Pmd.Engine",
        "Orion.Vhost -> Orion.Pmd.Device",
        "Orion.Vhost -> Orion.Pmd.Transport",
        "Orion.Storage.CrashWorker -> Orion.Pmd.Storage",
        "Orion.Pmd.Benchmarks -> Orion.Pmd.Engine",
        "Orion.Pmd.StorageBench -> Orion.Pmd.Storage",
    ];

    [Test]
    public void ProjectReferencesAreExactlyTheAllowedEdges()
    {
        var edges = Edges().Select(e => $"{e.From} -> {e.To}").ToHashSet();
        Assert.Multiple(() =>
        {
            Assert.That(edges.Except(Allowed), Is.Empty, "project references not in the allowed list (a new layer edge: add it here and to docs/architecture.md)");
            Assert.That(Allowed.Except(edges), Is.Empty, "allowed edges no project has any more (drop them from the list)");
        });
    }

    [Test]
    public void ProjectReferencesFormNoCycle()
    {
        var graph = Edges().GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).ToList());
        var state = new Dictionary<string, int>();     // 1 on the current path, 2 done
        var path = new List<string>();
        foreach (var node in graph.Keys) Assert.That(Visit(node), Is.Null, "a cycle of project references");

        string? Visit(string node)
        {
            if (state.TryGetValue(node, out int s)) return s == 1 ? string.Join(" -> ", path.SkipWhile(p => p != node).Append(node)) : null;
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph.GetValueOrDefault(node) ?? [])
                if (Visit(next) is { } cycle) return cycle;
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }
    }

    [Test]
    public void TheBuiltEngineNamesNoTypeOfTheSoftwareDevice()
    {
        var references = typeof(PmdEngine).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(references, Does.Not.Contain("Orion.Pmd.Device"), "Orion.Pmd.Engine must reach the embedded device only through Orion.Pmd.Transport");
            Assert.That(references, Does.Contain("Orion.Pmd.Transport"));
        });
    }

    /// <summary>Every project reference of the non-test projects, by project name.</summary>
    private static List<(string From, string To)> Edges()
    {
        string root = RepositoryRoot();
        var edges = new List<(string, string)>();
        foreach (string top in new[] { "engine", "reactors", "tools", "perf" })
        {
            foreach (string project in Directory.EnumerateFiles(Path.Combine(root, top), "*.csproj", SearchOption.AllDirectories))
            {
                if (project.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") ||
                    project.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
                string from = Path.GetFileNameWithoutExtension(project);
                foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
                {
                    string include = (string?)reference.Attribute("Include") ?? "";
                    edges.Add((from, Path.GetFileNameWithoutExtension(include.Replace('\\', '/'))));
                }
            }
        }
        Assert.That(edges, Is.Not.Empty, $"no project references found under {root}");
        return edges;
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Orion.Pmd.sln"))) return d.FullName;
        Assert.Ignore($"the repository (Orion.Pmd.sln) is not above {AppContext.BaseDirectory}: the test reads the project files");
        return "";
    }
}
