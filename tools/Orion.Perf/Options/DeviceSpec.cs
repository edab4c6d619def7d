using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>The kinds of device <c>orion-perf</c> can create.</summary>
public enum DeviceSpecKind
{
    /// <summary>A RAM disk (<c>mem:SIZE</c>): every request copies data.</summary>
    Memory,
    /// <summary>A device that completes every request without touching data (<c>null:SIZE</c>), like fio's null engine.</summary>
    Null,
}

/// <summary>
/// A parsed <c>--device</c> string: <c>mem:SIZE</c> or <c>null:SIZE</c>, optionally followed by <c>,bs=SIZE</c>
/// (the logical block size) and <c>,ro</c>; for example <c>mem:1G</c>, <c>null:64G</c>, <c>null:1G,bs=4096</c>.
/// The syntax is the engine's device string, so the same text can be handed on unchanged.
/// </summary>
/// <param name="Kind">The kind of device.</param>
/// <param name="SizeBytes">The capacity in bytes.</param>
/// <param name="BlockSize">The logical block size when given with <c>,bs=</c>; null means <see cref="DefaultBlockSize"/>.</param>
/// <param name="ReadOnly">Whether <c>,ro</c> was given.</param>
public sealed record DeviceSpec(DeviceSpecKind Kind, long SizeBytes, int? BlockSize = null, bool ReadOnly = false)
{
    /// <summary>The logical block size when none is given: virtio-blk's sector.</summary>
    public const int DefaultBlockSize = 512;

    private const string Expected =
        "expected mem:SIZE or null:SIZE, optionally followed by ,bs=512|4096 and ,ro (for example mem:1G, null:64G or null:1G,bs=4096)";

    /// <summary>The logical block size in effect.</summary>
    public int LogicalBlockSize => BlockSize ?? DefaultBlockSize;

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> saying what is wrong and what would be right.</summary>
    public static DeviceSpec Parse(string text)
    {
        if (TryParse(text, out var spec, out var error)) return spec;
        throw new FormatException(error);
    }

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong and what would be right.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out DeviceSpec? spec, out string error)
    {
        spec = null;
        error = "";
        if (string.IsNullOrWhiteSpace(text)) { error = $"--device: empty device string; {Expected}"; return false; }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        int colon = parts[0].IndexOf(':');
        string kindText = (colon < 0 ? parts[0] : parts[0][..colon]).ToLowerInvariant();
        DeviceSpecKind kind;
        switch (kindText)
        {
            case "mem" or "memory": kind = DeviceSpecKind.Memory; break;
            case "null": kind = DeviceSpecKind.Null; break;
            case "vhost-user" or "vhost":
                error = $"--device={text}: vhost-user devices are not supported by orion-perf yet; {Expected}";
                return false;
            default:
                error = colon < 0 && FioSize.TryParse(parts[0], out _)
                    ? $"--device={text}: missing the device kind; {Expected}"
                    : $"--device={text}: unknown device kind '{kindText}'; {Expected}";
                return false;
        }
        if (colon < 0) { error = $"--device={text}: missing the size; {Expected}"; return false; }
        string sizeText = parts[0][(colon + 1)..];
        if (!FioSize.TryParse(sizeText, out long size) || size <= 0)
        {
            error = $"--device={text}: '{sizeText}' is not a device size; {FioSize.Hint}";
            return false;
        }
        int? bs = null;
        bool ro = false;
        foreach (var opt in parts.Skip(1))
        {
            if (opt.Equals("ro", StringComparison.OrdinalIgnoreCase) || opt.Equals("readonly", StringComparison.OrdinalIgnoreCase))
            {
                ro = true;
            }
            else if (opt.StartsWith("bs=", StringComparison.OrdinalIgnoreCase))
            {
                // virtio-blk's blk_size is a power of two; 512 B to 64 KiB covers every real device.
                if (!FioSize.TryParse(opt[3..], out long b) || b is < 512 or > 65536 || (b & (b - 1)) != 0)
                {
                    error = $"--device={text}: '{opt}' is not a valid logical block size; use a power of two from 512 to 64k (for example bs=4096)";
                    return false;
                }
                bs = (int)b;
            }
            else
            {
                error = $"--device={text}: unknown device option '{opt}'; valid options are bs=SIZE and ro";
                return false;
            }
        }
        int block = bs ?? DefaultBlockSize;
        if (size % block != 0)
        {
            error = $"--device={text}: size {size.ToString(CultureInfo.InvariantCulture)} is not a multiple of the {block}-byte logical block size";
            return false;
        }
        spec = new DeviceSpec(kind, size, bs, ro);
        return true;
    }

    /// <summary>The canonical device string (<c>mem:1g</c>, <c>null:64g,bs=4096,ro</c>).</summary>
    public override string ToString() =>
        $"{(Kind == DeviceSpecKind.Memory ? "mem" : "null")}:{FioSize.Format(SizeBytes)}" +
        (BlockSize is int b ? $",bs={b.ToString(CultureInfo.InvariantCulture)}" : "") + (ReadOnly ? ",ro" : "");

    /// <summary>A description for reports: <c>RAM disk, 1 GiB, 512-byte blocks</c>.</summary>
    public string Describe() =>
        $"{(Kind == DeviceSpecKind.Memory ? "RAM disk" : "null device")}, {FioSize.Describe(SizeBytes)}, " +
        $"{LogicalBlockSize.ToString(CultureInfo.InvariantCulture)}-byte blocks{(ReadOnly ? ", read-only" : "")}";
}
