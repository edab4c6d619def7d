using Orion.Pmd.Linux.Vfio;

namespace Orion.Pmd.Engine.Transport.VirtioPci;

/// <summary>
/// A PCI function driven through VFIO, as <see cref="IPciFunction"/>: configuration space through the VFIO config
/// region (pread/pwrite), memory BARs through <see cref="VfioRegisters"/> (mmapped where the kernel allows it). It owns
/// the <see cref="VfioDevice"/> (and so its group and container).
/// </summary>
public sealed class VfioPciFunction : IPciFunction, IDisposable
{
    private const int CommandRegister = 0x04;
    private const ushort CommandMemory = 1 << 1, CommandBusMaster = 1 << 2;
    private readonly VfioDevice _device;
    private readonly VfioRegion _config;
    private readonly VfioRegisters?[] _bars = new VfioRegisters?[6];

    /// <summary>
    /// Opens <paramref name="address"/> through VFIO (<see cref="VfioDevice.OpenPci"/>: every refusal says what is
    /// wrong and what would be right) and turns on memory decoding and bus mastering, without which the device can
    /// neither be reached nor DMA.
    /// </summary>
    public VfioPciFunction(string address)
    {
        _device = VfioDevice.OpenPci(address);
        try
        {
            _config = _device.GetRegion(VfioDevice.PciConfigRegion);
            if (_config.Size < 0x100) throw new VfioException($"{address}'s configuration space is {_config.Size} bytes; a PCI function has at least 256");
            Span<byte> command = stackalloc byte[2];
            ReadConfig(CommandRegister, command);
            ushort value = (ushort)(command[0] | command[1] << 8 | CommandMemory | CommandBusMaster);
            _device.Write(_config, CommandRegister, [(byte)value, (byte)(value >> 8)]);
            for (int bar = 0; bar < _bars.Length; bar++)
            {
                var region = _device.GetRegion(bar);
                if (region.Size > 0 && IsMemoryBar(bar)) _bars[bar] = new VfioRegisters(_device, bar);
            }
        }
        catch
        {
            _device.Dispose();
            throw;
        }
    }

    /// <summary>The VFIO device (its container maps the engine's memory for DMA; its MSI-X vectors signal eventfds).</summary>
    public VfioDevice Device => _device;

    /// <inheritdoc />
    public string Address => _device.Address;

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination) => _device.Read(_config, offset, destination);

    /// <inheritdoc />
    public long BarLength(int bar) => (uint)bar < 6 && _bars[bar] is { } r ? r.Length : 0;

    /// <inheritdoc />
    public ulong ReadBar(int bar, long offset, int width) => Bar(bar).Read(offset, width);

    /// <inheritdoc />
    public void WriteBar(int bar, long offset, int width, ulong value) => Bar(bar).Write(offset, width, value);

    /// <summary>Whether the registers of every memory BAR the virtio structures use are mmapped (no syscall per doorbell).</summary>
    public bool BarsMapped(int bar) => (uint)bar < 6 && _bars[bar] is { Mapped: true };

    private VfioRegisters Bar(int bar) =>
        (uint)bar < 6 && _bars[bar] is { } r ? r : throw new ArgumentOutOfRangeException(nameof(bar), $"{Address} has no memory BAR {bar}");

    // A BAR register's bit 0 is 1 for an I/O BAR; the upper half of a 64-bit BAR reads as VFIO region size 0 already.
    private bool IsMemoryBar(int bar)
    {
        Span<byte> b = stackalloc byte[1];
        ReadConfig(0x10 + 4 * bar, b);
        return (b[0] & 1) == 0;
    }

    /// <summary>Closes the device, its group and container (the container unmaps every DMA mapping first).</summary>
    public void Dispose() => _device.Dispose();
}
