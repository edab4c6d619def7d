using Orion.Pmd.Linux.Vfio;

namespace Orion.Pmd.Transport;

public sealed partial record DeviceString
{
    /// <summary>
    /// <c>virtio-pci:DOMAIN:BUS:SLOT.FUNC</c>, optionally <c>,ro</c>: a virtio-blk PCI function bound to vfio-pci. The
    /// device reports its own capacity and block size, so no other option applies.
    /// </summary>
    private static bool TryParseVirtioPci(string[] parts, int colon, out DeviceString device, out string error)
    {
        device = null!;
        error = "";
        string address = colon < 0 ? "" : parts[0][(colon + 1)..].Trim().ToLowerInvariant();
        if (!VfioDevice.IsPciAddress(address))
        {
            error = address.Length == 0
                ? "missing the PCI address after virtio-pci:; give DOMAIN:BUS:SLOT.FUNC, for example virtio-pci:0000:00:03.0 (orion-perf --list-devices lists them)"
                : $"'{address}' is not a PCI address; give DOMAIN:BUS:SLOT.FUNC, for example virtio-pci:0000:00:03.0 (orion-perf --list-devices lists them)";
            return false;
        }
        bool ro = false;
        foreach (var opt in parts.Skip(1))
        {
            if (opt.Equals("ro", StringComparison.OrdinalIgnoreCase) || opt.Equals("readonly", StringComparison.OrdinalIgnoreCase)) ro = true;
            else
            {
                error = $"'{opt}' does not apply to virtio-pci devices: the device reports its own capacity and block size; the one option is ro";
                return false;
            }
        }
        device = new DeviceString(DeviceKind.VirtioPci, 0, DefaultBlockSize, ro, Path: address);
        return true;
    }
}
