namespace Orion.Pmd.Engine.Tests.VhostUser.Support;

/// <summary>Removes a directory (and what is in it) when disposed; for images kept outside a back-end's own directory.</summary>
internal sealed class TempDirectory(string path) : IDisposable
{
    public void Dispose()
    {
        try { Directory.Delete(path, recursive: true); } catch (IOException) { }
    }
}
