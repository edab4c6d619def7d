// A user's program on the Orion.Pmd packages: start an engine on an in-memory device, write a block, flush, read it
// back and compare; then a write-ahead log (Orion.Pmd.Storage) on the same device: append, close, recover. Exit
// code 0 when everything read back is what was written, 1 otherwise (with the reason on stderr).
using Orion.Pmd.Engine;
using Orion.Pmd.Storage;

using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:64M" });
var disk = engine.Device;
Console.WriteLine($"device: {disk.BlockCount} blocks of {disk.BlockSize} bytes");

// The block API: a zero-copy DMA buffer written, flushed and read back into a second buffer.
using var written = disk.Rent(4096);
for (int i = 0; i < written.Length; i++) written.Span[i] = (byte)(i * 7 + 3);
await disk.WriteAsync(lba: 8, written.Memory);
await disk.FlushAsync();
using var read = disk.Rent(4096);
await disk.ReadAsync(lba: 8, read.Memory);
if (!read.Span.SequenceEqual(written.Span))
{
    Console.Error.WriteLine("consumer: the block read back differs from the block written");
    return 1;
}
Console.WriteLine("block: written, flushed and read back");

// The storage layer: a log in the device's first half, appended to, closed and recovered.
var region = BlockStorage.Of(disk, 0, disk.BlockCount / 2);
byte[] record = "hello from a package consumer"u8.ToArray();
var fresh = await WriteAheadLog.OpenAsync(region, new WriteAheadLogOptions { FormatIfBlank = true });
long lsn;
await using (fresh.Log)
    lsn = await fresh.Log.AppendAsync(record);
var recovered = await WriteAheadLog.OpenAsync(region, new WriteAheadLogOptions());
await using (recovered.Log)
{
    if (recovered.Records.Count != 1 || recovered.Records[0].Lsn != lsn || !recovered.Records[0].Data.Span.SequenceEqual(record))
    {
        Console.Error.WriteLine($"consumer: recovery found {recovered.Records.Count} record(s); expected the one appended at LSN {lsn}");
        return 1;
    }
}
Console.WriteLine($"log: record {lsn} appended and recovered");
return 0;
