// Over 400 lines for one reason: this is the one grammar of device strings (every kind's options, each with the error
// that names what is wrong and what would be right), and splitting it would scatter that grammar. A new scheme is added
// here (its DeviceKind and parse) and opened in Orion.Pmd.Engine's Transport/TransportFactory.cs.
using System.Globalization;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Backends.Rbd;
using Orion.Pmd.Device.Faults;

namespace Orion.Pmd.Transport;

/// <summary>The kinds of device.</summary>
public enum DeviceKind
{
    /// <summary>A RAM disk (<c>mem:SIZE</c>): every request copies data.</summary>
    Memory,
    /// <summary>Completes every request without touching data (<c>null:SIZE</c>), like fio's null engine.</summary>
    Null,
    /// <summary>An image file or block device behind the embedded device (<c>file:PATH</c>), optionally with O_DIRECT.</summary>
    File,
    /// <summary>A device served by another process over a vhost-user socket (<c>vhost-user:PATH</c>); it has no in-process backend.</summary>
    VhostUser,
    /// <summary>A Ceph RBD image behind the embedded device (<c>rbd:POOL/IMAGE</c>), through librbd.</summary>
    Rbd,
    /// <summary>A virtio-blk PCI function driven through VFIO (<c>virtio-pci:0000:00:03.0</c>); it has no in-process backend.</summary>
    VirtioPci,
}

/// <summary>
/// A parsed device string: <c>mem:1G</c>, <c>null:64G</c>, optionally followed by <c>,bs=4096</c> (logical block
/// size), <c>,ro</c> (read-only) and, for <c>mem:</c>, <c>,prefill</c> (write every page at start, as fio lays out a
/// file before reading it, so that reads touch real memory rather than the kernel's shared zero page),
/// e.g. <c>mem:256M,bs=4096,ro</c>. <c>,delay=DURATION</c> (<c>20us</c>, <c>1ms</c>; a plain number is microseconds)
/// is fault/latency injection for tests and CI gates: the device busy-waits that long on every request before
/// completing it (<see cref="Orion.Pmd.Device.SoftBlkDeviceOptions.InjectedLatency"/>), e.g. <c>null:1G,delay=20us</c>
/// is a null device that serves at most one request per 20 µs per queue.
/// <para>
/// <c>file:PATH</c> serves an image file or a block device (<see cref="FileBackend"/>), with <c>,direct</c> (O_DIRECT),
/// <c>,ro</c>, <c>,bs=</c>, <c>,delay=</c> and <c>,size=SIZE</c>, which, like fio's <c>size=</c>, creates the file with
/// that size when it is missing and extends it when it is smaller; without <c>,size=</c> the file must exist. The
/// capacity is the file's size when the device starts. <c>vhost-user:PATH</c> names the Unix socket of a vhost-user
/// back-end (at most 107 bytes, what <c>sun_path</c> holds), optionally with <c>,ro</c>; that device reports its own
/// capacity and block size. A path may contain <c>:</c> but not <c>,</c>.
/// </para>
/// <para>
/// <c>rbd:POOL/IMAGE</c> serves a Ceph RBD image through librbd (<see cref="RbdBackend"/>), with <c>,conf=PATH</c> (the
/// ceph.conf; librados' default search without it), <c>,id=NAME</c> (the client id, <c>admin</c> by default),
/// <c>,timeout=SECONDS</c> (how long librados waits for an OSD before it fails a request with ETIMEDOUT; 30s by
/// default, 0 waits for ever), <c>,ro</c>, <c>,bs=</c>, <c>,delay=</c> and <c>,fault=</c>; the capacity is the image's size.
/// </para>
/// This is the one parser of device strings: the engine's options, orion-perf's <c>--device</c> and orion-vhost's <c>--device</c> all use it.
/// </summary>
/// <param name="Kind">The kind of device.</param>
/// <param name="SizeBytes">
/// The capacity in bytes, a multiple of <paramref name="BlockSize"/>; for <c>file:</c> the <c>,size=</c> given (the
/// least size the file is created or extended to; 0 when none was given, the file's own size then being the capacity);
/// 0 for <c>vhost-user:</c>, whose device reports its own.
/// </param>
/// <param name="BlockSize">The logical block size in bytes (<see cref="DefaultBlockSize"/> unless <c>,bs=</c> says otherwise).</param>
/// <param name="ReadOnly">Whether <c>,ro</c> was given.</param>
/// <param name="Prefill">Whether <c>,prefill</c> was given (<c>mem:</c> only).</param>
/// <param name="Delay">Latency injected per request (<c>,delay=</c>); zero when none.</param>
/// <param name="Path">The file (<c>file:</c>) or socket (<c>vhost-user:</c>) path; null for the other kinds.</param>
/// <param name="Direct">Whether <c>,direct</c> was given (<c>file:</c> only): the file is opened with O_DIRECT.</param>
/// <param name="Faults">
/// The fault-injection plan of <c>,fault=PLAN</c> (<c>mem:</c>, <c>null:</c>, <c>file:</c>; see <see cref="FaultPlan"/> for
/// the grammar, e.g. <c>mem:1G,fault=ioerr:rate=1%:type=write;drop:every=1000;seed=7</c>: the plan may contain <c>:</c>,
/// <c>=</c> and <c>;</c> but not <c>,</c>); null when none. Carried to <see cref="Orion.Pmd.Device.SoftBlkDeviceOptions.Faults"/>.
/// </param>
/// <param name="IoEngine">
/// <c>,io=auto|uring|sync</c> (<c>file:</c> only): how requests reach the file. <c>auto</c> (the default) uses io_uring
/// where the kernel allows it and synchronous calls otherwise; <c>uring</c> insists on io_uring; <c>sync</c> turns it off.
/// </param>
/// <param name="Conf"><c>,conf=PATH</c> (<c>rbd:</c> only): the ceph.conf; null for librados' default search.</param>
/// <param name="ClientId"><c>,id=NAME</c> (<c>rbd:</c> only): the Ceph client id; null for <c>admin</c>.</param>
/// <param name="RequestTimeout">
/// <c>,timeout=SECONDS</c> (<c>rbd:</c> only): librados' operation timeout; null for
/// <see cref="RbdBackendOptions.DefaultRequestTimeout"/>, zero to wait for ever.
/// </param>
/// <param name="Cache">
/// <c>,cache=none|writethrough|writeback</c> (<c>rbd:</c> only): librbd's client cache and whether the device reports a
/// volatile write cache (<see cref="RbdCacheMode"/>); null for <see cref="RbdCacheMode.None"/>.
/// </param>
public sealed partial record DeviceString(DeviceKind Kind, long SizeBytes, int BlockSize, bool ReadOnly, bool Prefill = false, TimeSpan Delay = default,
                                  string? Path = null, bool Direct = false, FaultPlan? Faults = null, FileIoEngine IoEngine = FileIoEngine.Auto,
                                  string? Conf = null, string? ClientId = null, TimeSpan? RequestTimeout = null, RbdCacheMode? Cache = null)
{
    /// <summary>
    /// Whether the device starts with a volatile write cache (virtio-blk's <c>writeback</c> byte): an <c>rbd:</c> device
    /// only with <c>cache=writeback</c> (its writes are otherwise durable when acknowledged), every other kind as before.
    /// </summary>
    public bool WriteCache => Kind != DeviceKind.Rbd || Cache == RbdCacheMode.WriteBack;

    /// <summary>
    /// Whether the embedded software device serves this device in this process (<see cref="EmbeddedDevice.Prepare(DeviceString)"/>);
    /// false for a device behind a socket (<c>vhost-user:</c>) or any other transport.
    /// </summary>
    public bool IsEmbedded => Kind is DeviceKind.Memory or DeviceKind.Null or DeviceKind.File or DeviceKind.Rbd;

    /// <summary>The longest <c>,delay=</c> accepted: a second per request is already far beyond any test's need.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>The logical block size when none is given: virtio-blk's sector.</summary>
    public const int DefaultBlockSize = 512;

    /// <summary>The longest Unix socket path in bytes: <c>sun_path</c> holds 108 with the terminating NUL.</summary>
    public const int MaxSocketPathBytes = 107;

    private const string Expected =
        "expected mem:SIZE or null:SIZE (a RAM disk or a null device), file:PATH (an image file or block device) or vhost-user:PATH " +
        "(a vhost-user socket), rbd:POOL/IMAGE (a Ceph RBD image) or virtio-pci:DOMAIN:BUS:SLOT.FUNC (a virtio-blk PCI function through VFIO), optionally followed by ,bs=512|4096, ,ro, ,delay=DURATION and ,fault=PLAN, " +
        "for mem: ,prefill, for file: ,direct and ,size=SIZE, for rbd: ,conf=PATH, ,id=NAME, ,timeout=SECONDS and ,cache=none|writethrough|writeback " +
        "(for example mem:1G, null:64G, null:1G,bs=4096, file:/var/tmp/disk.img,size=1G,direct, vhost-user:/run/orion.sock or rbd:rbd/vm1,conf=/etc/ceph/ceph.conf)";

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
            case "file": kind = DeviceKind.File; break;
            case "vhost-user" or "vhost": kind = DeviceKind.VhostUser; break;
            case "rbd": kind = DeviceKind.Rbd; break;
            case "virtio-pci": return TryParseVirtioPci(parts, colon, out device, out error);
            default:
                error = colon < 0 && SizeText.TryParse(parts[0], out _)
                    ? $"missing the device kind; {Expected}"
                    : $"unknown device kind '{kindText}'; {Expected}";
                return false;
        }
        bool hasPath = kind is DeviceKind.File or DeviceKind.VhostUser or DeviceKind.Rbd;
        string name = KindName(kind);
        if (colon < 0) { error = hasPath ? $"missing the path after {name}:; {Expected}" : $"missing the size; {Expected}"; return false; }
        string rest = parts[0][(colon + 1)..];
        long size = 0;
        string? path = null;
        if (hasPath)
        {
            if (!TryParsePath(kind, rest, out path, out error)) return false;
        }
        else if (!SizeText.TryParse(rest, out size) || size <= 0)
        {
            error = $"'{rest}' is not a device size; {SizeHint}";
            return false;
        }
        int bs = DefaultBlockSize;
        bool ro = false, prefill = false, direct = false;
        var ioEngine = FileIoEngine.Auto;
        TimeSpan delay = TimeSpan.Zero;
        FaultPlan? faults = null;
        string? conf = null, clientId = null;
        TimeSpan? requestTimeout = null;
        RbdCacheMode? cache = null;
        foreach (var opt in parts.Skip(1))
        {
            if (!TryParseRbdOption(kind, opt, ref conf, ref clientId, ref requestTimeout, ref cache, out bool wasRbd, ref error)) return false;
            if (wasRbd) continue;
            if (opt.Equals("ro", StringComparison.OrdinalIgnoreCase) || opt.Equals("readonly", StringComparison.OrdinalIgnoreCase))
            {
                ro = true;
            }
            else if (opt.Equals("prefill", StringComparison.OrdinalIgnoreCase))
            {
                if (kind != DeviceKind.Memory)
                {
                    error = kind == DeviceKind.Null
                        ? $"'{opt}' applies only to mem: devices; a null device holds no data to fill"
                        : $"'{opt}' applies only to mem: devices";
                    return false;
                }
                prefill = true;
            }
            else if (opt.Equals("direct", StringComparison.OrdinalIgnoreCase))
            {
                if (kind != DeviceKind.File)
                {
                    error = $"'{opt}' applies only to file: devices (it opens the file with O_DIRECT)";
                    return false;
                }
                direct = true;
            }
            else if (opt.StartsWith("io=", StringComparison.OrdinalIgnoreCase))
            {
                if (kind != DeviceKind.File)
                {
                    error = $"'{opt}' applies only to file: devices (it picks io_uring or synchronous calls for the file)";
                    return false;
                }
                string value = opt[3..].ToLowerInvariant();
                if (value is "auto") ioEngine = FileIoEngine.Auto;
                else if (value is "uring" or "io_uring") ioEngine = FileIoEngine.IoUring;
                else if (value is "sync") ioEngine = FileIoEngine.Sync;
                else
                {
                    error = $"'{opt}' is not an I/O engine; use io=auto (io_uring where the kernel allows it), io=uring or io=sync";
                    return false;
                }
            }
            else if (opt.StartsWith("size=", StringComparison.OrdinalIgnoreCase))
            {
                if (kind != DeviceKind.File)
                {
                    error = kind == DeviceKind.VhostUser ? $"'{opt}' does not apply to vhost-user devices: the device reports its own capacity"
                        : kind == DeviceKind.Rbd ? $"'{opt}' does not apply to rbd: devices: the image's size (rbd resize) is the capacity"
                        : $"'{opt}' applies only to file: devices; give a {name}: device's size after the colon (for example {name}:1G)";
                    return false;
                }
                if (!SizeText.TryParse(opt.AsSpan(5), out size) || size <= 0)
                {
                    error = $"'{opt}' is not a device size; {SizeHint}";
                    return false;
                }
            }
            else if (opt.StartsWith("bs=", StringComparison.OrdinalIgnoreCase))
            {
                if (kind == DeviceKind.VhostUser)
                {
                    error = $"'{opt}' does not apply to vhost-user devices: the device reports its own block size";
                    return false;
                }
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
                if (kind == DeviceKind.VhostUser)
                {
                    error = $"'{opt}' does not apply to vhost-user devices: latency injection is done by the embedded device";
                    return false;
                }
                if (!TryParseDelay(opt.AsSpan(6), out delay) || delay <= TimeSpan.Zero || delay > MaxDelay)
                {
                    error = $"'{opt}' is not a valid injected latency; use a duration above 0 and at most 1s in us or ms, a plain number being microseconds (for example delay=20us or delay=1ms)";
                    return false;
                }
            }
            else if (opt.StartsWith("fault=", StringComparison.OrdinalIgnoreCase) || opt.StartsWith("faults=", StringComparison.OrdinalIgnoreCase))
            {
                if (kind == DeviceKind.VhostUser)
                {
                    error = $"'{opt}' does not apply to vhost-user devices: faults are injected by the device itself (orion-vhost --device ...,fault=PLAN)";
                    return false;
                }
                if (faults is not null)
                {
                    error = $"'{opt}': fault= is given twice; put every rule in one fault= option, separated by ';' (for example fault=ioerr:rate=1%;drop:every=1000)";
                    return false;
                }
                if (!FaultPlan.TryParse(opt[(opt.IndexOf('=') + 1)..], out var plan, out string why))
                {
                    error = $"'{opt}' is not a valid fault plan: {why}";
                    return false;
                }
                faults = plan;
            }
            else
            {
                error = $"unknown device option '{opt}'; valid options for {name}: devices are {ValidOptions(kind)}";
                return false;
            }
        }
        if (size % bs != 0)
        {
            error = $"size {size.ToString(CultureInfo.InvariantCulture)} is not a multiple of the {bs.ToString(CultureInfo.InvariantCulture)}-byte logical block size";
            return false;
        }
        if (kind == DeviceKind.File && ro && size > 0)
        {
            error = "size= creates or extends the file, which a read-only (ro) device cannot do; drop one of them";
            return false;
        }
        device = new DeviceString(kind, size, bs, ro, prefill, delay, path, direct, faults, ioEngine, conf, clientId, requestTimeout, cache);
        return true;
    }

    /// <summary>
    /// <c>conf=</c>, <c>id=</c>, <c>timeout=</c> and <c>cache=</c>: true with <paramref name="handled"/> set when <paramref name="opt"/>
    /// was one of them (and fit an <c>rbd:</c> device), true with it clear when it is some other option, false with
    /// <paramref name="error"/> when it is wrong.
    /// </summary>
    private static bool TryParseRbdOption(DeviceKind kind, string opt, ref string? conf, ref string? clientId, ref TimeSpan? timeout,
                                          ref RbdCacheMode? cache, out bool handled, ref string error)
    {
        int eq = opt.IndexOf('=');
        string key = eq < 0 ? "" : opt[..eq].ToLowerInvariant();
        handled = key is "conf" or "id" or "timeout" or "cache";
        if (!handled) return true;
        if (kind != DeviceKind.Rbd)
        {
            error = $"'{opt}' applies only to rbd: devices (Ceph RBD images)";
            return false;
        }
        string value = opt[(eq + 1)..];
        switch (key)
        {
            case "conf":
                if (value.Length == 0 || value.Contains('\0')) { error = $"'{opt}' names no ceph.conf; give conf=PATH (for example conf=/etc/ceph/ceph.conf)"; return false; }
                conf = value;
                return true;
            case "id":
                if (value.Length == 0 || value.StartsWith("client.", StringComparison.Ordinal))
                {
                    error = $"'{opt}' is not a client id; give the name without 'client.' (for example id=admin)";
                    return false;
                }
                clientId = value;
                return true;
            case "cache":
                cache = value.ToLowerInvariant() switch
                {
                    "none" or "off" => RbdCacheMode.None,
                    "writethrough" => RbdCacheMode.WriteThrough,
                    "writeback" => RbdCacheMode.WriteBack,
                    _ => null,
                };
                if (cache is null) { error = $"'{opt}' is not a cache mode; give cache=none, cache=writethrough or cache=writeback"; return false; }
                return true;
            default:
                if (value == "0") { timeout = TimeSpan.Zero; return true; }
                string seconds = value.EndsWith('s') ? value[..^1] : value;
                if (!int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n is < 1 or > 3600)
                {
                    error = $"'{opt}' is not a request timeout; give whole seconds from 1 to 3600 (for example timeout=30s), or 0 to wait for ever";
                    return false;
                }
                timeout = TimeSpan.FromSeconds(n);
                return true;
        }
    }

    private static string KindName(DeviceKind kind) => kind switch
    {
        DeviceKind.Memory => "mem",
        DeviceKind.Null => "null",
        DeviceKind.File => "file",
        DeviceKind.Rbd => "rbd",
        DeviceKind.VirtioPci => "virtio-pci",
        _ => "vhost-user",
    };

    private static string ValidOptions(DeviceKind kind) => kind switch
    {
        DeviceKind.Memory => "bs=SIZE, ro, delay=DURATION, fault=PLAN and prefill",
        DeviceKind.Null => "bs=SIZE, ro, delay=DURATION and fault=PLAN",
        DeviceKind.File => "size=SIZE, bs=SIZE, direct, io=auto|uring|sync, ro, delay=DURATION and fault=PLAN (a path cannot contain ',')",
        DeviceKind.Rbd => "conf=PATH, id=NAME, timeout=SECONDS, cache=none|writethrough|writeback, bs=SIZE, ro, delay=DURATION and fault=PLAN",
        _ => "ro (a path cannot contain ',')",
    };

    private static bool TryParsePath(DeviceKind kind, string text, out string? path, out string error)
    {
        path = null;
        error = "";
        string name = KindName(kind);
        string what = kind switch { DeviceKind.File => "file", DeviceKind.Rbd => "POOL/IMAGE", _ => "socket" };
        text = text.Trim();
        if (text.Length == 0)
        {
            error = $"missing the {what} path after {name}:; {Expected}";
            return false;
        }
        if (text.Contains('\0'))
        {
            error = $"the {what} path contains a NUL character";
            return false;
        }
        if (kind == DeviceKind.Rbd)
        {
            int slash = text.IndexOf('/');
            if (slash <= 0 || slash == text.Length - 1 || text.IndexOf('/', slash + 1) >= 0 || text.Contains('@') || text.Contains('\0'))
            {
                error = $"'{name}:{text}' does not name an image: give rbd:POOL/IMAGE (for example rbd:rbd/vm1); snapshots (@SNAP) are not served";
                return false;
            }
            path = text;
            return true;
        }
        if (kind == DeviceKind.VhostUser)
        {
            int bytes = System.Text.Encoding.UTF8.GetByteCount(text);
            if (bytes > MaxSocketPathBytes)
            {
                error = $"the socket path '{text}' is {bytes.ToString(CultureInfo.InvariantCulture)} bytes long; a Unix socket path holds at most " +
                        $"{MaxSocketPathBytes.ToString(CultureInfo.InvariantCulture)} bytes, so use a shorter one (for example in /run or /tmp)";
                return false;
            }
        }
        path = text;
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

    /// <summary>
    /// Creates the backend this string describes; for <c>file:</c> this opens (and with <c>,size=</c> creates or
    /// extends) the file. A <c>vhost-user:</c> device has none: it lives in the process behind the socket.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device is a vhost-user device.</exception>
    public IBlockBackend CreateBackend() => Kind switch
    {
        DeviceKind.Memory => new MemoryBackend(SizeBytes, Prefill),
        DeviceKind.Null => new NullBackend(SizeBytes),
        DeviceKind.Rbd => new RbdBackend(new RbdBackendOptions
        {
            Pool = Path![..Path!.IndexOf('/')],
            Image = Path![(Path!.IndexOf('/') + 1)..],
            ConfPath = Conf,
            ClientId = ClientId,
            ReadOnly = ReadOnly,
            LogicalBlockSize = BlockSize,
            RequestTimeout = RequestTimeout ?? RbdBackendOptions.DefaultRequestTimeout,
            Cache = Cache ?? RbdCacheMode.None,
        }),
        DeviceKind.File => new FileBackend(new FileBackendOptions
        {
            Path = Path!,
            Direct = Direct,
            ReadOnly = ReadOnly,
            CreateSize = SizeBytes,
            LogicalBlockSize = BlockSize,
            IoEngine = IoEngine,
        }),
        DeviceKind.VirtioPci => throw new InvalidOperationException($"a virtio-pci device has no in-process backend: {this} is a PCI function the engine drives through VFIO"),
        _ => throw new InvalidOperationException($"a vhost-user device has no in-process backend: {this} is served by the process behind the socket"),
    };

    /// <summary>
    /// The canonical device string, which parses back to an equal value: <c>mem:1g</c>, <c>mem:256m,bs=4096,ro</c>,
    /// <c>null:64g</c>, <c>file:/var/tmp/disk.img,size=1g,direct</c>, <c>vhost-user:/run/orion.sock,ro</c>. <c>,bs=</c>
    /// appears only when the block size is not <see cref="DefaultBlockSize"/>.
    /// </summary>
    public override string ToString() =>
        Kind switch
        {
            DeviceKind.File => $"file:{Path}" + (SizeBytes > 0 ? $",size={SizeText.Format(SizeBytes).ToLowerInvariant()}" : ""),
            DeviceKind.VhostUser => $"vhost-user:{Path}",
            DeviceKind.VirtioPci => $"virtio-pci:{Path}",
            DeviceKind.Rbd => $"rbd:{Path}" + (Conf is not null ? $",conf={Conf}" : "") + (ClientId is not null ? $",id={ClientId}" : "") +
                              (RequestTimeout is { } t ? (t == TimeSpan.Zero ? ",timeout=0" : $",timeout={t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s") : "") +
                              (Cache is { } c ? $",cache={c.ToString().ToLowerInvariant()}" : ""),
            _ => $"{KindName(Kind)}:{SizeText.Format(SizeBytes).ToLowerInvariant()}",
        } +
        (BlockSize != DefaultBlockSize ? $",bs={BlockSize.ToString(CultureInfo.InvariantCulture)}" : "") + (Direct ? ",direct" : "") +
        (ReadOnly ? ",ro" : "") + (Prefill ? ",prefill" : "") + (Delay > TimeSpan.Zero ? $",delay={FormatDelay(Delay)}" : "") +
        (Faults is not null ? $",fault={Faults}" : "") +
        (IoEngine != FileIoEngine.Auto ? (IoEngine == FileIoEngine.Sync ? ",io=sync" : ",io=uring") : "");

    /// <summary>
    /// A description for reports: <c>RAM disk, 1 GiB, 512-byte blocks</c>, <c>null device, 64 GiB, 4096-byte blocks, read-only</c>,
    /// <c>file /var/tmp/disk.img (created or extended to 1 GiB), 512-byte blocks, direct I/O</c>, <c>vhost-user device at /run/orion.sock</c>.
    /// </summary>
    public string Describe() => Kind switch
    {
        DeviceKind.VhostUser => $"vhost-user device at {Path}{(ReadOnly ? ", read-only" : "")}",
        DeviceKind.VirtioPci => $"virtio-blk PCI function {Path} through VFIO{(ReadOnly ? ", read-only" : "")}",
        _ => Kind switch
        {
            DeviceKind.Rbd => $"Ceph RBD image {Path}{(Conf is not null ? $" ({Conf})" : "")}, librbd cache {(Cache ?? RbdCacheMode.None).ToString().ToLowerInvariant()}, ",
            DeviceKind.Memory => $"RAM disk, {SizeText.Describe(SizeBytes)}, ",
            DeviceKind.Null => $"null device, {SizeText.Describe(SizeBytes)}, ",
            _ => $"file {Path}{(SizeBytes > 0 ? $" (created or extended to {SizeText.Describe(SizeBytes)})" : "")}, ",
        } +
        $"{BlockSize.ToString(CultureInfo.InvariantCulture)}-byte blocks{(Direct ? ", direct I/O" : "")}{(ReadOnly ? ", read-only" : "")}{(Prefill ? ", prefilled" : "")}" +
        (Delay > TimeSpan.Zero ? $", {FormatDelay(Delay)} injected latency per request" : "") +
        (Faults is not null ? $", injected faults {Faults}" : ""),
    };
}
