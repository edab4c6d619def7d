namespace Orion.Guest.Tests.Support;

/// <summary>
/// The disk a guest gets from orion-vhost: a sparse image file (<c>file</c>) or memory (<c>mem</c>), in a private
/// directory under /tmp that also holds the vhost-user socket (socket paths hold at most 107 bytes). Dispose removes it.
/// </summary>
internal sealed class GuestDisk : IDisposable
{
    private GuestDisk(string directory, string device, string? image)
    {
        Directory = directory;
        Device = device;
        ImagePath = image;
    }

    /// <summary>The private directory.</summary>
    public string Directory { get; }

    /// <summary>orion-vhost's --device.</summary>
    public string Device { get; }

    /// <summary>The image file, or null for memory.</summary>
    public string? ImagePath { get; }

    /// <summary>A disk of <paramref name="bytes"/> on <paramref name="backend"/> (<c>file</c> or <c>mem</c>).</summary>
    public static GuestDisk Create(string backend, long bytes)
    {
        string dir = System.IO.Directory.CreateTempSubdirectory("orion-gd-").FullName;
        if (backend == "mem") return new GuestDisk(dir, $"mem:{bytes >> 20}M", null);
        if (backend != "file") throw new ArgumentException($"backend '{backend}' is not file or mem", nameof(backend));
        string image = Path.Combine(dir, "disk.img");
        using (var f = File.Create(image)) f.SetLength(bytes);
        return new GuestDisk(dir, $"file:{image}", image);
    }

    /// <summary>orion-vhost's arguments for this disk (besides --socket).</summary>
    public string[] VhostArgs(int queues, bool packed) => ["--device", Device, "--queues", $"{queues}", "--packed", packed ? "on" : "off"];

    /// <summary>QEMU's arguments for a vhost-user-blk-pci disk on <paramref name="socket"/> (QEMU reconnects every <paramref name="reconnectSeconds"/> when non-zero).</summary>
    public static string[] QemuArgs(string socket, int queues, bool packed, int reconnectSeconds = 0) =>
    [
        "-chardev", $"socket,id=vu0,path={socket}" + (reconnectSeconds > 0 ? $",reconnect={reconnectSeconds}" : ""),
        "-device", $"vhost-user-blk-pci,chardev=vu0,num-queues={queues}" + (packed ? ",packed=on" : ""),
    ];

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
