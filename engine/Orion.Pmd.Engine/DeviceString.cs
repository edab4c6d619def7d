using System.Globalization;
using Orion.Pmd.Device.Backends;

namespace Orion.Pmd.Engine;

/// <summary>The kinds of embedded device.</summary>
public enum DeviceKind
{
    /// <summary>A RAM disk (<c>mem:SIZE</c>): every request copies data.</summary>
    Memory,
    /// <summary>Completes every request without touching data (<c>null:SIZE</c>), like fio's null engine.</summary>
    Null,
}

/// <summary>
/// A parsed device string: <c>mem:1G</c>, <c>null:64G</c>, optionally followed by <c>,bs=4096</c> (logical block
/// size), <c>,ro</c> (read-only) and, for <c>mem:</c>, <c>,prefill</c> (write every page at start, as fio lays out a
/// file before reading it, so that reads touch real memory rather than the kernel's shared zero page),
/// e.g. <c>mem:256M,bs=4096,ro</c>. <c>,delay=DURATION</c> (<c>20us</c>, <c>1ms</c>; a plain number is microseconds)
/// is fault/latency injection for tests and CI gates: the device busy-waits that long on every request before
/// completing it (<see cref="Orion.Pmd.Device.SoftBlkDeviceOptions.InjectedLatency"/>), e.g. <c>null:1G,delay=20us</c>
/// is a null device that serves at most one request per 20 µs per queue. This is the one parser of device strings: the engine's options and orion-perf's
/// <c>--device</c> both use it.
/// </summary>
/// <param name="Kind">The kind of device.</param>
/// <param name="SizeBytes">The capacity in bytes, a multiple of <paramref name="BlockSize"/>.</param>
/// <param name="BlockSize">The logical block size in bytes (<see cref="DefaultBlockSize"/> unless <c>,bs=</c> says otherwise).</param>
/// <param name="ReadOnly">Whether <c>,ro</c> was given.</param>
/// <param name="Prefill">Whether <c>,prefill</c> was given (<c>mem:</c> only).</param>
/// <param name="Delay">Latency injected per request (<c>,delay=</c>); zero when none.</param>
public sealed record DeviceString(DeviceKind Kind, long SizeBytes, int BlockSize, bool ReadOnly, bool Prefill = false, TimeSpan Delay = default)
{
    /// <summary>The longest <c>,delay=</c> accepted: a second per request is already far beyond any test's need.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>The logical block size when none is given: virtio-blk's sector.</summary>
    public const int DefaultBlockSize = 512;

    private const string Expected =
        "expected mem:SIZE or null:SIZE, optionally followed by ,bs=512|4096, ,ro, ,delay=DURATION and (mem: only) ,prefill " +
        "(for example mem:1G, null:64G or null:1G,bs=4096)";

    private const string SizeHint = "use a number with an optional k, m, g or t suffix (powers of 1024, for example 4k or 1g)";

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> saying what is wrong and what would be right.</summary>
    public static DeviceString Parse(string text)
    {
        if (TryParse(text, out var d, out var error)) return d;
        throw new FormatException(error);
    }

    /// <summary>
    /// Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong and what would be right.
    /// The message does not name where the text came from: a caller such as a command line puts that in front.
    /// </summary>
    public static bool TryParse(string? text, out DeviceString device, out string error)
    {
        device = null!;
        error = "";
        if (string.IsNullOrWhiteSpace(text)) { error = $"empty device string; {Expected}"; return false; }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        int colon = parts[0].IndexOf(':');
        string kindText = (colon < 0 ? parts[0] : parts[0][..colon]).ToLowerInvariant();
        DeviceKind kind;
        switch (kindText)
        {
            case "mem" or "memory": kind = DeviceKind.Memory; break;
            case "null": kind = DeviceKind.Null; break;
            case "vhost-user" or "vhost":
                error = $"vhost-user devices are not supported yet; {Expected}";
                return false;
            default:
                error = colon < 0 && SizeText.TryParse(parts[0], out _)
                    ? $"missing the device kind; {Expected}"
                    : $"unknown device kind '{kindText}'; {Expected}";
                return false;
        }
        if (colon < 0) { error = $"missing the size; {Expected}"; return false; }
        string sizeText = parts[0][(colon + 1)..];
        if (!SizeText.TryParse(sizeText, out long size) || size <= 0)
        {
            error = $"'{sizeText}' is not a device size; {SizeHint}";
            return false;
        }
        int bs = DefaultBlockSize;
        bool ro = false, prefill = false;
        TimeSpan delay = TimeSpan.Zero;
        foreach (var opt in parts.Skip(1))
        {
            if (opt.Equals("ro", StringComparison.OrdinalIgnoreCase) || opt.Equals("readonly", StringComparison.OrdinalIgnoreCase))
            {
                ro = true;
            }
            else if (opt.Equals("prefill", StringComparison.OrdinalIgnoreCase))
            {
                if (kind != DeviceKind.Memory)
                {
                    error = $"'{opt}' applies only to mem: devices; a null device holds no data to fill";
                    return false;
                }
                prefill = true;
            }
            else if (opt.StartsWith("bs=", StringComparison.OrdinalIgnoreCase))
            {
                // virtio-blk's blk_size is a power of two; 512 B to 64 KiB covers every real device.
                if (!SizeText.TryParse(opt.AsSpan(3), out long b) || b is < 512 or > 65536 || (b & (b - 1)) != 0)
                {
                    error = $"'{opt}' is not a valid logical block size; use a power of two from 512 to 64k (for example bs=4096)";
                    return false;
                }
                bs = (int)b;
            }
            else if (opt.StartsWith("delay=", StringComparison.OrdinalIgnoreCase))
            {
                if (!TryParseDelay(opt.AsSpan(6), out delay) || delay <= TimeSpan.Zero || delay > MaxDelay)
                {
                    error = $"'{opt}' is not a valid injected latency; use a duration above 0 and at most 1s in us or ms, a plain number being microseconds (for example delay=20us or delay=1ms)";
                    return false;
                }
            }
            else
            {
                error = $"unknown device option '{opt}'; valid options are bs=SIZE, ro, delay=DURATION and (mem: only) prefill";
                return false;
            }
        }
        if (size % bs != 0)
        {
            error = $"size {size.ToString(CultureInfo.InvariantCulture)} is not a multiple of the {bs.ToString(CultureInfo.InvariantCulture)}-byte logical block size";
            return false;
        }
        device = new DeviceString(kind, size, bs, ro, prefill, delay);
        return true;
    }

    /// <summary><c>20us</c>, <c>1.5ms</c>, <c>20</c> (microseconds), <c>1s</c>, <c>500ns</c>.</summary>
    private static bool TryParseDelay(ReadOnlySpan<char> text, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        text = text.Trim();
        double scaleUs = 1;
        if (text.EndsWith("us", StringComparison.OrdinalIgnoreCase)) text = text[..^2];
        else if (text.EndsWith("µs", StringComparison.Ordinal)) text = text[..^2];
        else if (text.EndsWith("ns", StringComparison.OrdinalIgnoreCase)) { text = text[..^2]; scaleUs = 1e-3; }
        else if (text.EndsWith("ms", StringComparison.OrdinalIgnoreCase)) { text = text[..^2]; scaleUs = 1e3; }
        else if (text.EndsWith("s", StringComparison.OrdinalIgnoreCase)) { text = text[..^1]; scaleUs = 1e6; }
        if (text.IsEmpty || !double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)) return false;
        double us = value * scaleUs;
        if (!double.IsFinite(us) || us > MaxDelay.TotalMicroseconds * 2) return false;
        delay = TimeSpan.FromTicks((long)Math.Round(us * TimeSpan.TicksPerMicrosecond));
        return true;
    }

    /// <summary><c>20us</c>, <c>1500us</c>, <c>0.5us</c>: microseconds, which parse back exactly to 100 ns.</summary>
    private static string FormatDelay(TimeSpan delay) => $"{delay.TotalMicroseconds.ToString("0.#", CultureInfo.InvariantCulture)}us";

    /// <summary>Creates the backend this string describes.</summary>
    public IBlockBackend CreateBackend() => Kind == DeviceKind.Memory ? new MemoryBackend(SizeBytes, Prefill) : new NullBackend(SizeBytes);

    /// <summary>
    /// The canonical device string, which parses back to an equal value: <c>mem:1g</c>, <c>mem:256m,bs=4096,ro</c>,
    /// <c>null:64g</c>. <c>,bs=</c> appears only when the block size is not <see cref="DefaultBlockSize"/>.
    /// </summary>
    public override string ToString() =>
        $"{(Kind == DeviceKind.Memory ? "mem" : "null")}:{SizeText.Format(SizeBytes).ToLowerInvariant()}" +
        (BlockSize != DefaultBlockSize ? $",bs={BlockSize.ToString(CultureInfo.InvariantCulture)}" : "") +
        (ReadOnly ? ",ro" : "") + (Prefill ? ",prefill" : "") + (Delay > TimeSpan.Zero ? $",delay={FormatDelay(Delay)}" : "");

    /// <summary>A description for reports: <c>RAM disk, 1 GiB, 512-byte blocks</c>, <c>null device, 64 GiB, 4096-byte blocks, read-only</c>.</summary>
    public string Describe() =>
        $"{(Kind == DeviceKind.Memory ? "RAM disk" : "null device")}, {SizeText.Describe(SizeBytes)}, " +
        $"{BlockSize.ToString(CultureInfo.InvariantCulture)}-byte blocks{(ReadOnly ? ", read-only" : "")}{(Prefill ? ", prefilled" : "")}" +
        (Delay > TimeSpan.Zero ? $", {FormatDelay(Delay)} injected latency per request" : "");
}
