using Orion.Pmd.Engine;

namespace Orion.Pmd.Storage.Tests.Support;

/// <summary>Engines for the storage tests: real reactor threads, unpinned (the machine has two cores).</summary>
internal static class Engines
{
    public static PmdEngine Start(string device = "mem:16M") => PmdEngine.Start(new EngineOptions
    {
        Device = device,
        Queues = 1,
        Pin = false,
        BufferMemoryBytes = 16L << 20,
    });

    /// <summary>Overwrites <paramref name="bytes"/> bytes at byte <paramref name="offset"/> of the device with <paramref name="fill"/> (read-modify-write of the blocks).</summary>
    public static async Task OverwriteAsync(BlockDevice device, long offset, int bytes, Func<int, byte> fill)
    {
        int bs = device.BlockSize;
        long first = offset / bs, last = (offset + bytes - 1) / bs;
        int length = (int)(last - first + 1) * bs;
        using var buffer = device.Rent(length);
        await device.ReadAsync(first, buffer.Memory);
        int at = (int)(offset - first * bs);
        for (int i = 0; i < bytes; i++) buffer.Span[at + i] = fill(i);
        await device.WriteAsync(first, buffer.Memory);
        await device.FlushAsync();
    }
}
