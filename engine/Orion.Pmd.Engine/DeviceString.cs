using System.Globalization;
using Orion.Pmd.Device.Backends;

namespace Orion.Pmd.Engine;

/// <summary>The kinds of embedded device.</summary>
public enum DeviceKind
{
    /// <summary>A RAM disk.</summary>
    Memory,
    /// <summary>Completes every request without touching data.</summary>
    Null,
}

/// <summary>
/// A parsed device string: <c>mem:1G</c>, <c>null:64G</c>, optionally followed by <c>,bs=4096</c> (logical block
/// size), <c>,ro</c> (read-only) and, for <c>mem:</c>, <c>,prefill</c> (write every page at start, as fio lays out a
/// file before reading it, so that reads touch real memory rather than the kernel's shared zero page),
/// e.g. <c>mem:256M,bs=4096,ro</c>.
/// </summary>
public sealed record DeviceString(DeviceKind Kind, long SizeBytes, int BlockSize, bool ReadOnly, bool Prefill = false)
{
    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> with what was wrong and what would be right.</summary>
    public static DeviceString Parse(string text)
    {
        if (TryParse(text, out var d, out var error)) return d;
        throw new FormatException(error);
    }

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what was wrong and what would be right.</summary>
    public static bool TryParse(string? text, out DeviceString device, out string error)
    {
        device = null!;
        const string Expected = "expected mem:SIZE or null:SIZE, optionally with ,bs=512|4096 and ,ro (for example mem:1G or null:64G,bs=4096)";
        if (string.IsNullOrWhiteSpace(text)) { error = $"empty device string: {Expected}"; return false; }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        int colon = parts[0].IndexOf(':');
        if (colon < 0) { error = $"device '{text}' has no size: {Expected}"; return false; }
        string kindText = parts[0][..colon].ToLowerInvariant();
        DeviceKind kind;
        switch (kindText)
        {
            case "mem": case "memory": kind = DeviceKind.Memory; break;
            case "null": kind = DeviceKind.Null; break;
            case "vhost-user": error = $"device '{text}': vhost-user devices are not supported yet; {Expected}"; return false;
            default: error = $"unknown device kind '{kindText}' in '{text}': {Expected}"; return false;
        }
        if (!SizeText.TryParse(parts[0].AsSpan(colon + 1), out long size) || size <= 0)
        {
            error = $"device '{text}': '{parts[0][(colon + 1)..]}' is not a size; use a number with an optional K, M, G or T suffix (for example 1G)";
            return false;
        }
        int bs = 512;
        bool ro = false, prefill = false;
        foreach (var opt in parts.Skip(1))
        {
            if (opt.Equals("ro", StringComparison.OrdinalIgnoreCase) || opt.Equals("readonly", StringComparison.OrdinalIgnoreCase)) ro = true;
            else if (opt.Equals("prefill", StringComparison.OrdinalIgnoreCase) && kind == DeviceKind.Memory) prefill = true;
            else if (opt.StartsWith("bs=", StringComparison.OrdinalIgnoreCase) && SizeText.TryParse(opt.AsSpan(3), out long b) && b is >= 512 and <= 65536 && (b & (b - 1)) == 0) bs = (int)b;
            else { error = $"device '{text}': unknown or invalid option '{opt}'; valid options are bs=SIZE (a power of two from 512 to 64K), ro, and prefill (mem: only)"; return false; }
        }
        if (size % bs != 0)
        {
            error = $"device '{text}': size {size.ToString(CultureInfo.InvariantCulture)} is not a multiple of the {bs}-byte block size";
            return false;
        }
        device = new DeviceString(kind, size, bs, ro, prefill);
        error = "";
        return true;
    }

    /// <summary>Creates the backend this string describes.</summary>
    public IBlockBackend CreateBackend() => Kind == DeviceKind.Memory ? new MemoryBackend(SizeBytes, Prefill) : new NullBackend(SizeBytes);
}
