using System.Runtime.InteropServices;
using Orion.Pmd.Device;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.VhostUser;
using Orion.Pmd.Transport;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;

namespace Orion.Vhost;

/// <summary>
/// The orion-vhost command: parse (a <c>--config</c> file's options, then the command line's), open the device,
/// listen, serve one client at a time until SIGTERM or SIGINT (SIGHUP is logged and ignored). Exit codes: 0 after a
/// signal (connection closed, socket removed), 1 when the device or socket cannot be opened, 2 for bad arguments.
/// </summary>
internal static class VhostCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["--version"] or ["-V"])
        {
            stdout.WriteLine($"orion-vhost {ReleaseVersion.Current}");
            return 0;
        }
        if (!ConfigFile.TryExpand(args, out var expanded, out string error) ||
            !CommandLine.TryParse(expanded, out var options, out error))
        {
            stderr.WriteLine($"orion-vhost: error: {error}");
            return 2;
        }
        if (options is null)
        {
            stdout.WriteLine(CommandLine.Usage);
            return 0;
        }
        return Serve(options, stdout, stderr);
    }

    /// <summary>The device options the command line implies.</summary>
    internal static SoftBlkDeviceOptions DeviceOptions(VhostOptions o, int allowedCpus)
    {
        var offered = SoftBlkDeviceOptions.SupportedFeatures;
        if (!o.Packed) offered &= ~VirtioFeatures.RingPacked;
        if (!o.Indirect) offered &= ~VirtioFeatures.RingIndirectDesc;
        if (!o.EventIdx) offered &= ~VirtioFeatures.RingEventIdx;
        return new SoftBlkDeviceOptions
        {
            LogicalBlockSize = o.Device.BlockSize,
            ReadOnly = o.ReadOnly,
            NumQueues = o.Queues,
            MaxQueueSize = o.QueueSizeMax,
            Serial = o.Serial,
            OfferedFeatures = offered,
            Mode = o.Mode,
            AdaptiveSleepAfter = o.PollWindow,
            AdaptiveSleepWithIoAfter = o.IoPollWindow,
            Cores = o.Cpus,
            // A polling thread per queue plus the front-end's own: with fewer cores than that, spinning threads would
            // starve each other, so they yield when a pass finds nothing (adaptive ones within their poll window;
            // kick-driven queues sleep anyway).
            YieldWhenIdle = o.Cpus is null && o.Queues + 1 > allowedCpus,
            InjectedLatency = o.Device.Delay,
            Faults = o.Device.Faults,
            WriteCache = o.Device.WriteCache,
        };
    }

    /// <summary>The server options the command line implies.</summary>
    internal static VhostUserServerOptions ServerOptions(VhostOptions o, TextWriter log) => new()
    {
        Log = log,
        MessageTimeout = o.MessageTimeout,
        IdleTimeout = o.IdleTimeout,
        AllowUnsealedMemory = o.AllowUnsealedMemory,
    };

    /// <summary>The mode on the startup line, and why it behaves as it does: "adaptive (poll 50us, then sleep on the kick eventfd)".</summary>
    internal static string DescribeMode(VhostOptions o) => o.Mode switch
    {
        DeviceServiceMode.Adaptive => $"adaptive (poll {CommandLine.FormatDuration(o.PollWindow)} after the last request, then sleep on the kick eventfd)",
        DeviceServiceMode.KickDriven => "kick-driven (sleeps on the kick eventfd whenever idle)",
        DeviceServiceMode.Polled => "polled (spins on the rings, a core per queue even while idle)",
        _ => o.Mode.ToString(),
    };

    private static int Serve(VhostOptions o, TextWriter stdout, TextWriter stderr)
    {
        SoftBlkDevice device;
        try
        {
            // --readonly opens an existing file or RBD image read-only too (a size= would need write access to create it).
            var spec = o.ReadOnly && (o.Device.Kind == DeviceKind.Rbd || o.Device.Kind == DeviceKind.File && o.Device.SizeBytes == 0)
                ? o.Device with { ReadOnly = true } : o.Device;
            IBlockBackend backend = spec.CreateBackend();
            try
            {
                device = new SoftBlkDevice(backend, DeviceOptions(o, CpuAffinity.GetAllowedCpus().Length));
            }
            catch
            {
                backend.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or LinuxException or InvalidOperationException)
        {
            stderr.WriteLine($"orion-vhost: error: cannot open device {o.Device}: {e.Message}");
            return 1;
        }
        using (device)
        {
            if (!SocketActivation.TryTake(Environment.GetEnvironmentVariable, Environment.ProcessId, o.SocketPath, out var activated, out string activationError))
            {
                stderr.WriteLine($"orion-vhost: error: {activationError}");
                return 1;
            }
            UnixSocket listener;
            try
            {
                listener = activated ?? UnixSocket.Listen(o.SocketPath);
            }
            catch (Exception e) when (e is IOException or ArgumentException or LinuxException)
            {
                stderr.WriteLine($"orion-vhost: error: cannot listen on {o.SocketPath}: {e.Message}");
                return 1;
            }
            using (listener)
            {
                var server = new VhostUserServer(device, ServerOptions(o, stderr));
                void OnSignal(PosixSignalContext context)
                {
                    context.Cancel = true;          // exit through the orderly path below, with exit code 0
                    server.Stop();
                }
                using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
                using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
                // SIGHUP (systemctl reload, a closed terminal) would end the process by default. There is nothing to
                // reload while a front-end may have the device's memory mapped: the configuration applies on restart.
                using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
                {
                    context.Cancel = true;
                    stderr.WriteLine("orion-vhost: SIGHUP ignored: the configuration is read at start only; restart to apply a change");
                });
                stderr.WriteLine($"orion-vhost: serving {o.Device.Describe()}{(o.ReadOnly && !o.Device.ReadOnly ? ", read-only" : "")}, " +
                                 (device.IoEngine is { } io ? $"I/O by {io}, " : "") +
                                 $"{o.Queues} queue(s) of up to {o.QueueSizeMax} entries, {DescribeMode(o)}, serial '{o.Serial}'" +
                                 (activated is null ? "" : ", on the socket systemd passed (socket activation)"));
                // librbd's cache as librados has it (ceph.conf and cache=): what a comparison with other librbd clients needs.
                if (device.Backend is Orion.Pmd.Device.Backends.Rbd.RbdBackend rbd) stderr.WriteLine($"orion-vhost: librbd {rbd.CacheSettings}");
                stdout.WriteLine($"listening on {o.SocketPath}");
                stdout.Flush();
                server.Run(listener);
            }                                        // disposing the listener removes the socket file (unless systemd made it)
        }
        stderr.WriteLine("orion-vhost: stopped");
        return 0;
    }
}
