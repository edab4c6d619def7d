using Orion.Pmd.Engine.Transport.VhostUser;

namespace Orion.Pmd.Engine.Transport;

/// <summary>
/// The one place a parsed device string becomes a transport, with the notification mode and core plan that device
/// wants. A new scheme is added in two steps: its <see cref="DeviceKind"/> and grammar in <see cref="DeviceString"/>
/// (Orion.Pmd.Transport), and one case in <see cref="Open"/> here; nothing else in the engine switches on the kind.
/// </summary>
internal static class TransportFactory
{
    /// <summary>What <see cref="Open"/> gives the engine: the transport (which the engine then owns), the options with
    /// <see cref="NotificationMode.Auto"/> resolved, and the cores for the reactors and any device threads.</summary>
    internal readonly record struct Opened(IVirtioTransport Transport, EngineOptions Options, CorePlan Plan);

    /// <summary>Opens the device <paramref name="spec"/> names for an engine started with <paramref name="options"/>.</summary>
    public static Opened Open(DeviceString spec, EngineOptions options)
    {
        if (spec.Kind == DeviceKind.VhostUser)
        {
            // The device is another process: no device threads here, and the back-end's own cores are its business.
            if (options.Notifications == NotificationMode.Auto) options = options with { Notifications = NotificationMode.Polled };
            return new Opened(VhostUserTransport.Connect(spec.Path!, options.VhostUser), options, CorePlan.Make(options, 0));
        }
        if (spec.Kind == DeviceKind.VirtioPci)
        {
            // A PCI function: no device threads here; polled mode unless told otherwise, with no MSI-X vector wired.
            if (options.Notifications == NotificationMode.Auto) options = options with { Notifications = NotificationMode.Polled };
            bool interrupts = options.Notifications != NotificationMode.Polled && options.Threading == EngineThreading.Threads;
            return new Opened(VirtioPci.VirtioPciTransport.Open(spec.Path!, interrupts), options, CorePlan.Make(options, 0));
        }
        if (spec.IsEmbedded) return OpenEmbedded(spec, options);
        throw new NotSupportedException($"the engine cannot open {spec}: no transport serves {spec.Kind} devices");
    }

    /// <summary>The software device in this process: on device threads, or on the reactors themselves when its backend waits in the kernel.</summary>
    private static Opened OpenEmbedded(DeviceString spec, EngineOptions options)
    {
        bool manual = options.Threading == EngineThreading.Manual;
        var device = options.EmbeddedDeviceFactory?.Invoke(spec) ?? EmbeddedDevice.Prepare(spec);
        try
        {
            bool onReactors = !manual && (options.DeviceOnReactors ?? (device.ServesBestOnReactors && options.DeviceMode == EmbeddedDeviceMode.Polled));
            if (options.Notifications == NotificationMode.Auto)
                options = options with { Notifications = onReactors ? NotificationMode.Hybrid : NotificationMode.Polled };
            // A reactor that sleeps until the disk completes is best woken on a CPU that takes the disk's interrupts.
            int[]? interruptCpus = onReactors && options.Notifications == NotificationMode.Hybrid && device.BlockDevicePath is { } path
                ? Linux.BlockDeviceInterrupts.CpusFor(path) : null;
            var plan = CorePlan.Make(options, onReactors ? 0 : options.DeviceThreads, interruptCpus);
            var transport = device.Start(new EmbeddedDeviceSettings
            {
                Queues = options.Queues,
                MaxQueueSize = Math.Max(1024, options.QueueSize),
                OfferedFeatures = options.DeviceFeatures,
                // A reactor that sleeps is wasted if the device beside it keeps spinning: let the device sleep too.
                Mode = manual || onReactors ? EmbeddedDeviceMode.Manual
                     : options.Notifications != NotificationMode.Polled && options.DeviceMode == EmbeddedDeviceMode.Polled ? EmbeddedDeviceMode.Adaptive
                     : options.DeviceMode,
                AdaptiveSleepAfter = options.AdaptiveIdleBudget,
                Threads = options.DeviceThreads,
                Cores = plan.Device,
                YieldWhenIdle = !plan.Pinned,
            });
            return new Opened(transport, options, plan);
        }
        finally { device.Dispose(); }      // closes the backend only if the device did not start
    }
}
