using System.Globalization;
using Orion.Pmd.Device;
using Orion.Pmd.Device.VhostUser;
using Orion.Pmd.Transport;

namespace Orion.Vhost;

/// <summary>
/// Parses orion-vhost's arguments: <c>--name value</c> or <c>--name=value</c>. Every error says what was wrong and
/// what would be right.
/// </summary>
internal static class CommandLine
{
    public const string Usage = """
        usage: orion-vhost --socket PATH --device SPEC [options]

        A vhost-user-blk back-end: serves an Orion software device on a Unix socket to one vhost-user front-end at a
        time (the Orion engine with --device vhost-user:PATH, QEMU, SPDK). Prints "listening on PATH" when ready;
        SIGTERM or SIGINT closes the connection, removes the socket and exits 0; SIGHUP is logged and ignored.
        Under systemd socket activation (LISTEN_FDS=1) it serves the socket systemd passed, and leaves its file.

          --socket PATH           Unix socket to listen on (at most 107 bytes; a stale socket file is replaced)
          --device SPEC           null:SIZE, mem:SIZE, file:PATH or rbd:POOL/IMAGE, with ,bs=512|4096 ,ro
                                  ,delay=DURATION, mem: ,prefill, file: ,direct ,size=SIZE ,io=auto|uring|sync,
                                  rbd: ,conf=PATH ,id=NAME ,timeout=SECONDS ,cache=none|writethrough|writeback
                                  (librbd's cache; writeback reports a volatile cache the front-end must flush)
                                  (e.g. mem:1G, file:/var/tmp/d.img,direct,
                                  rbd:rbd/vm1,conf=/etc/ceph/ceph.conf); a file is served through io_uring, one ring
                                  per queue, where the kernel allows it (io=auto), otherwise synchronously; a Ceph
                                  RBD image through librbd (rbd_aio), many requests in flight per queue
          --queues N              request queues offered, 1 to 256 (default 1); one device thread per started queue
          --readonly              serve read-only (VIRTIO_BLK_F_RO): writes fail with IOERR
          --serial TEXT           GET_ID serial, at most 20 ASCII characters (default orion-vhost)
          --mode adaptive|kick|polled
                                  adaptive (default): a device thread spins on its ring, kicks suppressed, for
                                  the poll window after its last request, then asks for kicks, re-checks the
                                  ring and sleeps on the kick eventfd: polled speed while I/O flows (no wake-up
                                  per batch), no core burnt while idle;
                                  kick: sleep on the kick eventfd whenever a pass finds nothing (a wake-up of
                                  tens of microseconds per batch);
                                  polled: spin on the rings for ever and tell the front-end not to kick (a core
                                  per queue even while idle)
          --poll-window DURATION  adaptive mode: how long to spin after the last request before sleeping, 1us to
                                  1s, e.g. 50us, 0.2ms (a plain number is microseconds; default 50us)
          --io-poll-window DURATION
                                  adaptive mode, while requests are in the kernel (a file through io_uring): how
                                  long to spin before sleeping until one completes or the front-end kicks, 0 to
                                  1s (default 0: sleep at once, as qemu-storage-daemon does; spinning through
                                  the disk's 20-60 us only slows it on a machine with few cores)
          --queue-size-max N      largest queue size accepted, a power of two from 1 to 32768 (default 1024)
          --packed on|off         offer packed rings (default on)
          --indirect on|off       offer indirect descriptors (default on)
          --event-idx on|off      offer EVENT_IDX (default on)
          --block-size N          logical block size, a power of two from 512 to 65536 (same as ,bs= in --device)
          --cpus LIST             pin queue threads to these cpus, e.g. 2,3 or 2-5 (default: unpinned)
          --message-timeout DURATION
                                  a started message must arrive whole, and a reply be read, within this, or the
                                  front-end is dropped: 1ms to 1h, e.g. 5s, 500ms (default 5s)
          --idle-timeout DURATION a connection with no queue running that sends nothing for this long is dropped
                                  when another client waits (never when alone, never while queues run): 1ms to 1h
                                  (default 10s)
          --allow-unsealed-memory accept memory fds that cannot be sealed against shrinking (hugetlbfs or regular
                                  files, memfds sealed without F_SEAL_SHRINK); by default they are refused, because
                                  a front-end that truncates one ends orion-vhost with SIGBUS (sealable memfds are
                                  sealed by orion-vhost itself)
          --config FILE           read options from FILE first, one per line without the leading --
                                  ("socket = /run/orion-vhost/vu.sock", "queues = 2", a flag alone: "readonly";
                                  # comments); options on the command line come after, so they win
          -h, --help              this text
          -V, --version           the version, alone on the command line
        """;

    private const string HelpHint = "run orion-vhost --help for the list";

    internal static readonly string[] Known =
        ["--socket", "--device", "--queues", "--readonly", "--serial", "--mode", "--poll-window", "--io-poll-window", "--queue-size-max", "--packed", "--indirect", "--event-idx", "--block-size", "--cpus", "--message-timeout", "--idle-timeout", "--allow-unsealed-memory", "--help"];

    /// <summary>Parses <paramref name="args"/>. Returns false with <paramref name="error"/> set, or true with <paramref name="options"/> (null when help was asked for).</summary>
    public static bool TryParse(IReadOnlyList<string> args, out VhostOptions? options, out string error)
    {
        options = null;
        error = "";
        string? socket = null, device = null, serial = null;
        int queues = 1, queueSizeMax = 1024;
        int? blockSize = null;
        bool readOnly = false, packed = true, indirect = true, eventIdx = true, allowUnsealed = false;
        TimeSpan messageTimeout = VhostUserServerOptions.DefaultMessageTimeout, idleTimeout = VhostUserServerOptions.DefaultIdleTimeout;
        var mode = DeviceServiceMode.Adaptive;
        TimeSpan? pollWindow = null, ioPollWindow = null;
        IReadOnlyList<int>? cpus = null;

        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help" or "-help") return true;
            if (arg is "-V" or "--version")
            {
                error = $"{arg} is given alone (orion-vhost --version); it does not combine with other options";
                return false;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                error = $"unexpected argument '{arg}'; options start with -- (for example --socket /tmp/vu.sock --device null:1G)";
                return false;
            }
            string name = arg, value = "";
            bool inline = false;
            int eq = arg.IndexOf('=');
            if (eq > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
                inline = true;
            }
            if (!Known.Contains(name))
            {
                string? near = Known.FirstOrDefault(k => k.StartsWith(name, StringComparison.Ordinal) || name.StartsWith(k, StringComparison.Ordinal));
                error = $"unknown option '{name}'" + (near is not null ? $"; did you mean {near}?" : "") + $" ({HelpHint})";
                return false;
            }
            if (name is "--readonly" or "--allow-unsealed-memory")
            {
                if (inline) { error = $"{name} takes no value; give it alone"; return false; }
                if (name == "--readonly") readOnly = true;
                else allowUnsealed = true;
                continue;
            }
            if (!inline)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    error = $"{name} needs a value ({Expected(name)})";
                    return false;
                }
                value = args[++i];
            }
            if (!Apply(name, value, out error)) return false;
        }

        bool Apply(string name, string value, out string e)
        {
            e = "";
            switch (name)
            {
                case "--socket": socket = value; break;
                case "--device": device = value; break;
                case "--serial": serial = value; break;
                case "--queues": if (!Int(value, 1, 256, out queues)) e = Bad(name, value); break;
                case "--queue-size-max":
                    if (!Int(value, 1, 32768, out queueSizeMax) || (queueSizeMax & (queueSizeMax - 1)) != 0) e = Bad(name, value);
                    break;
                case "--block-size":
                    if (!Int(value, 512, 65536, out int bs) || (bs & (bs - 1)) != 0) e = Bad(name, value);
                    else blockSize = bs;
                    break;
                case "--mode":
                    if (value.Equals("adaptive", StringComparison.OrdinalIgnoreCase)) mode = DeviceServiceMode.Adaptive;
                    else if (value.Equals("kick", StringComparison.OrdinalIgnoreCase)) mode = DeviceServiceMode.KickDriven;
                    else if (value.Equals("polled", StringComparison.OrdinalIgnoreCase) || value.Equals("poll", StringComparison.OrdinalIgnoreCase)) mode = DeviceServiceMode.Polled;
                    else e = Bad(name, value);
                    break;
                case "--poll-window":
                    if (!TryParseDuration(value, out var window) || window < MinPollWindow || window > MaxPollWindow) e = Bad(name, value);
                    else pollWindow = window;
                    break;
                case "--io-poll-window":
                    if (!TryParseDuration(value, out var ioWindow) || ioWindow < TimeSpan.Zero || ioWindow > MaxPollWindow) e = Bad(name, value);
                    else ioPollWindow = ioWindow;
                    break;
                case "--packed": if (!OnOff(value, out packed)) e = Bad(name, value); break;
                case "--indirect": if (!OnOff(value, out indirect)) e = Bad(name, value); break;
                case "--event-idx": if (!OnOff(value, out eventIdx)) e = Bad(name, value); break;
                case "--cpus": if (!TryParseCpus(value, out cpus)) e = Bad(name, value); break;
                case "--message-timeout": if (!Timeout(value, out messageTimeout)) e = Bad(name, value); break;
                case "--idle-timeout": if (!Timeout(value, out idleTimeout)) e = Bad(name, value); break;
            }
            return e.Length == 0;
        }

        if (socket is null) { error = "missing --socket PATH: the Unix socket to listen on (for example --socket /tmp/orion-vu.sock)"; return false; }
        if (device is null) { error = "missing --device SPEC: the device to serve (for example --device mem:1G or --device file:/var/tmp/disk.img)"; return false; }
        int socketBytes = System.Text.Encoding.UTF8.GetByteCount(socket);
        if (socket.Length == 0 || socketBytes > DeviceString.MaxSocketPathBytes)
        {
            error = $"--socket '{socket}' is {socketBytes} bytes; a Unix socket path holds 1 to {DeviceString.MaxSocketPathBytes} bytes, so use a shorter one (for example under /tmp or /run)";
            return false;
        }
        if (!DeviceString.TryParse(device, out var spec, out string deviceError))
        {
            error = $"--device '{device}': {deviceError}";
            return false;
        }
        if (spec.Kind == DeviceKind.VhostUser)
        {
            error = $"--device '{device}' names a vhost-user socket, which is a client of a device; orion-vhost serves one: use null:SIZE, mem:SIZE, file:PATH or rbd:POOL/IMAGE";
            return false;
        }
        if (blockSize is int b)
        {
            if (spec.BlockSize != DeviceString.DefaultBlockSize && spec.BlockSize != b)
            {
                error = $"--block-size {b} contradicts bs={spec.BlockSize} in --device; give the block size once";
                return false;
            }
            if (spec.SizeBytes % b != 0)
            {
                error = $"--block-size {b}: the device size {spec.SizeBytes} is not a multiple of it";
                return false;
            }
            spec = spec with { BlockSize = b };
        }
        if (ioPollWindow is not null && mode != DeviceServiceMode.Adaptive)
        {
            error = $"--io-poll-window applies to --mode adaptive only; --mode {ModeName(mode)} {(mode == DeviceServiceMode.Polled ? "never sleeps" : "sleeps as soon as a pass finds nothing")}";
            return false;
        }
        if (pollWindow is not null && mode != DeviceServiceMode.Adaptive)
        {
            error = $"--poll-window applies to --mode adaptive only; --mode {ModeName(mode)} {(mode == DeviceServiceMode.Polled ? "never sleeps" : "sleeps as soon as a pass finds nothing")}";
            return false;
        }
        if (serial is not null && (serial.Length > 20 || serial.Any(c => c is < ' ' or > '~')))
        {
            error = $"--serial '{serial}': a virtio-blk serial is at most 20 printable ASCII characters";
            return false;
        }
        options = new VhostOptions
        {
            SocketPath = socket,
            Device = spec,
            Queues = queues,
            ReadOnly = readOnly || spec.ReadOnly,
            Serial = serial ?? "orion-vhost",
            Mode = mode,
            PollWindow = pollWindow ?? VhostOptions.DefaultPollWindow,
            IoPollWindow = ioPollWindow ?? TimeSpan.Zero,
            QueueSizeMax = queueSizeMax,
            Packed = packed,
            Indirect = indirect,
            EventIdx = eventIdx,
            Cpus = cpus,
            MessageTimeout = messageTimeout,
            IdleTimeout = idleTimeout,
            AllowUnsealedMemory = allowUnsealed,
        };
        return true;
    }

    /// <summary>A timeout from 1 ms to 1 h, unit required (<c>5s</c>, <c>500ms</c>).</summary>
    private static bool Timeout(string text, out TimeSpan timeout)
    {
        timeout = TimeSpan.Zero;
        if (text.Length == 0 || char.IsDigit(text[^1])) return false;
        return TryParseDuration(text, out timeout) && timeout >= MinTimeout && timeout <= MaxTimeout;
    }

    private static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(1), MaxTimeout = TimeSpan.FromHours(1);

    private static string Expected(string name) => name switch
    {
        "--socket" => "a socket path, for example /tmp/orion-vu.sock",
        "--device" => "null:SIZE, mem:SIZE, file:PATH or rbd:POOL/IMAGE, for example mem:1G",
        "--queues" => "a number from 1 to 256",
        "--serial" => "at most 20 printable ASCII characters",
        "--mode" => "adaptive, kick or polled",
        "--poll-window" => "a duration from 1us to 1s, for example 50us or 0.2ms (a plain number is microseconds)",
        "--io-poll-window" => "a duration from 0 to 1s, for example 0, 20us or 0.2ms (a plain number is microseconds)",
        "--queue-size-max" => "a power of two from 1 to 32768, for example 256",
        "--block-size" => "a power of two from 512 to 65536, for example 4096",
        "--packed" or "--indirect" or "--event-idx" => "on or off",
        "--cpus" => "a cpu list such as 2,3 or 2-5",
        "--message-timeout" or "--idle-timeout" => "a duration with its unit from 1ms to 1h, for example 5s or 500ms",
        _ => "see --help",
    };

    private static string Bad(string name, string value) => $"{name} '{value}' is not valid; expected {Expected(name)}";

    /// <summary>The shortest and longest <c>--poll-window</c> accepted.</summary>
    public static readonly TimeSpan MinPollWindow = TimeSpan.FromMicroseconds(1), MaxPollWindow = TimeSpan.FromSeconds(1);

    /// <summary>The name <c>--mode</c> takes for <paramref name="mode"/>.</summary>
    public static string ModeName(DeviceServiceMode mode) => mode switch
    {
        DeviceServiceMode.Adaptive => "adaptive",
        DeviceServiceMode.KickDriven => "kick",
        DeviceServiceMode.Polled => "polled",
        _ => mode.ToString().ToLowerInvariant(),
    };

    /// <summary><c>50us</c>, <c>0.2ms</c>, <c>500ns</c>, <c>1s</c>, <c>50</c> (microseconds).</summary>
    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var t = text.AsSpan().Trim();
        double scaleUs = 1;
        if (t.EndsWith("us", StringComparison.OrdinalIgnoreCase) || t.EndsWith("µs", StringComparison.Ordinal)) t = t[..^2];
        else if (t.EndsWith("ns", StringComparison.OrdinalIgnoreCase)) { t = t[..^2]; scaleUs = 1e-3; }
        else if (t.EndsWith("ms", StringComparison.OrdinalIgnoreCase)) { t = t[..^2]; scaleUs = 1e3; }
        else if (t.EndsWith("s", StringComparison.OrdinalIgnoreCase)) { t = t[..^1]; scaleUs = 1e6; }
        if (t.IsEmpty || !double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)) return false;
        double us = value * scaleUs;
        if (!double.IsFinite(us) || us > 1e12) return false;
        duration = TimeSpan.FromTicks((long)Math.Round(us * TimeSpan.TicksPerMicrosecond));
        return true;
    }

    /// <summary><c>50us</c>, <c>1500us</c>, <c>0.5us</c>.</summary>
    public static string FormatDuration(TimeSpan d) => d.TotalMicroseconds.ToString("0.#", CultureInfo.InvariantCulture) + "us";

    private static bool Int(string text, int min, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

    private static bool OnOff(string text, out bool value)
    {
        value = text is "on" or "1" or "true" or "yes";
        return value || text is "off" or "0" or "false" or "no";
    }

    /// <summary><c>2</c>, <c>2,3</c>, <c>2-5,8</c>: distinct cpus in the order given.</summary>
    internal static bool TryParseCpus(string text, out IReadOnlyList<int>? cpus)
    {
        cpus = null;
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0)
            {
                if (!Int(part, 0, 4095, out int c)) return false;
                list.Add(c);
                continue;
            }
            if (!Int(part[..dash], 0, 4095, out int lo) || !Int(part[(dash + 1)..], 0, 4095, out int hi) || hi < lo) return false;
            for (int c = lo; c <= hi; c++) list.Add(c);
        }
        if (list.Count == 0 || list.Distinct().Count() != list.Count) return false;
        cpus = list;
        return true;
    }
}
