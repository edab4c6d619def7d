using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Tests.VhostUser;
using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Engine.Transport.VhostUser;
using Orion.Pmd.Tests.Ceph;

namespace Orion.Pmd.Engine.Tests.Contract;

/// <summary>
/// One contract, every transport, every valid combination — as System.Threading.Channels runs one test body against
/// every kind of channel. A <see cref="DeviceSource"/> is a way to get a device: the embedded RAM disk
/// (<c>mem:16M</c>, every ring format × indirect × event index × queue count × notification mode); a
/// qemu-storage-daemon file export over vhost-user (split rings only: the daemon does not offer RING_PACKED, so packed
/// combinations are never generated); orion-vhost serving a RAM disk over vhost-user (both ring formats); qemu-storage-daemon exporting an image of the
/// run's single-node Ceph cluster (<c>driver=rbd</c>; split rings, two notification modes). Each
/// combination runs on real reactor threads (unpinned, so everything shares two cores politely), writes, flushes and
/// reads back data from concurrent callers, reads back through the callback form on every reactor at once, stops in
/// order with nothing left in flight, and, where the device keeps its data in a file, finds every write in the file
/// afterwards. A source whose back-end is not installed or built skips its cases with the reason.
/// </summary>
[NonParallelizable]
public class EngineContractTests
{
    /// <summary>A way to get a device for one combination; its name leads the test case's name.</summary>
    public sealed class DeviceSource
    {
        internal DeviceSource(string name, RingFormat[] rings, NotificationMode[] notifications, Func<int, ContractDevice> open)
        {
            Name = name;
            Rings = rings;
            Notifications = notifications;
            Open = open;
        }

        /// <summary>Short name for test names: <c>mem</c>, <c>qsd-file</c>.</summary>
        public string Name { get; }
        /// <summary>The ring formats the device offers.</summary>
        public IReadOnlyList<RingFormat> Rings { get; }
        /// <summary>The notification modes worth the time against this device.</summary>
        public IReadOnlyList<NotificationMode> Notifications { get; }
        /// <summary>Starts a device serving at least this many queues.</summary>
        internal Func<int, ContractDevice> Open { get; }

        public override string ToString() => Name;
    }

    /// <summary>One device for one combination: its device string, and what owns it (a daemon) until disposed.</summary>
    internal sealed class ContractDevice(string device, string? image = null, Func<string>? log = null, Action? dispose = null,
                                         Func<byte[]>? readBack = null) : IDisposable
    {
        /// <summary>The engine's <see cref="EngineOptions.Device"/>.</summary>
        public string Device { get; } = device;
        /// <summary>The file that holds the device's data, when there is one to check after the engine stopped.</summary>
        public string? Image { get; } = image;
        /// <summary>
        /// An independent reader of the device's data after the engine stopped (the file, or an RBD image exported by the
        /// <c>rbd</c> command); null when the device keeps nothing to check.
        /// </summary>
        public Func<byte[]>? ReadBack { get; } = readBack ?? (image is null ? null : () => File.ReadAllBytes(image));
        /// <summary>What the process behind the device reported as failures (empty when all is well).</summary>
        public string Log => log?.Invoke() ?? "";

        public void Dispose() => dispose?.Invoke();
    }

    private static readonly RingFormat[] AllRings = Enum.GetValues<RingFormat>();
    private static readonly NotificationMode[] AllModes = Enum.GetValues<NotificationMode>();

    /// <summary>The embedded RAM disk: the device runs on threads of this process.</summary>
    public static readonly DeviceSource Embedded = new("mem", AllRings, AllModes, _ => new ContractDevice("mem:16M"));

    /// <summary>qemu-storage-daemon 7.2 exporting a 16 MiB raw file over vhost-user: split rings only.</summary>
    public static readonly DeviceSource QemuStorageDaemonFile = new("qsd-file", [RingFormat.Split], AllModes, queues =>
    {
        QemuStorageDaemon.RequireInstalled();
        string dir = QemuStorageDaemon.NewDirectory();
        string image = QsdTestKit.CreateImage(dir, 16 << 20);
        var daemon = QemuStorageDaemon.StartFile(image, queues, writable: true, directory: dir);
        return new ContractDevice(daemon.DeviceString, image, () => daemon.Log, daemon.Dispose);
    });

    /// <summary>orion-vhost (tools/Orion.Vhost) serving a 16 MiB RAM disk over vhost-user: both ring formats.</summary>
    public static readonly DeviceSource OrionVhost = new("orion-vhost", AllRings, AllModes, queues =>
    {
        var process = OrionVhostProcess.Start("mem:16M", queues);
        return new ContractDevice(process.DeviceString, log: () => process.Errors, dispose: process.Dispose);
    });

    // Declared before the source that uses it: static fields initialize in textual order.
    private static readonly NotificationMode[] RbdModes = [NotificationMode.Polled, NotificationMode.Interrupt];

    /// <summary>
    /// qemu-storage-daemon exporting a 16 MiB Ceph RBD image (<c>driver=rbd</c>) of the run's test cluster: split rings
    /// only, and two notification modes (one that polls, one that sleeps), since every case pays the network store's latency.
    /// </summary>
    public static readonly DeviceSource QemuStorageDaemonRbd = new("qsd-rbd", [RingFormat.Split], RbdModes, queues =>
    {
        QemuStorageDaemon.RequireInstalled();
        var cluster = CephCluster.RequireShared();
        string image = cluster.CreateImage(16 << 20, "contract");
        var daemon = QemuStorageDaemon.StartRbd(cluster, image, queues);
        return new ContractDevice(daemon.DeviceString, log: () => daemon.Log, readBack: () => cluster.ExportImage(image),
            dispose: () => { daemon.Dispose(); cluster.RemoveImage(image); });
    });

    /// <summary>The embedded device on an RBD image through librbd (<c>rbd:POOL/IMAGE,conf=...</c>): the native backend.</summary>
    public static readonly DeviceSource EmbeddedRbd = new("rbd", [RingFormat.Split], RbdModes, _ => OpenRbd(image => (image, null)));

    /// <summary>orion-vhost serving an RBD image through librbd over vhost-user.</summary>
    public static readonly DeviceSource OrionVhostRbd = new("orion-vhost-rbd", [RingFormat.Split], RbdModes, queues => OpenRbd(image =>
    {
        var process = OrionVhostProcess.Start(image, queues);
        return (process.DeviceString, process);
    }));

    /// <summary>A fresh 16 MiB image of the run's cluster, served as <paramref name="serve"/> says (its device string, and what to stop).</summary>
    private static ContractDevice OpenRbd(Func<string, (string Device, OrionVhostProcess? Process)> serve)
    {
        var cluster = CephCluster.RequireShared();
        string image = cluster.CreateImage(16 << 20, "contract");
        var (device, process) = serve(cluster.DeviceString(image));
        return new ContractDevice(device, log: () => process?.Errors ?? "", readBack: () => cluster.ExportImage(image),
            dispose: () => { process?.Dispose(); cluster.RemoveImage(image); });
    }

    /// <summary>Every device source the contract runs against.</summary>
    public static IReadOnlyList<DeviceSource> Sources { get; } = [Embedded, QemuStorageDaemonFile, OrionVhost, QemuStorageDaemonRbd, EmbeddedRbd, OrionVhostRbd];

    /// <summary>Every valid combination of every source: a source's ring formats and modes only, never one it cannot serve.</summary>
    public static IEnumerable<TestCaseData> Combinations()
    {
        foreach (var source in Sources)
            foreach (var ring in source.Rings)
                foreach (bool indirect in new[] { true, false })
                    foreach (bool eventIdx in new[] { true, false })
                        foreach (int queues in new[] { 1, 2 })
                            foreach (var mode in source.Notifications)
                                yield return new TestCaseData(source, ring, indirect, eventIdx, queues, mode)
                                    .SetArgDisplayNames(source.Name, ring.ToString(), indirect.ToString(), eventIdx.ToString(), queues.ToString(), mode.ToString());
    }

    [TestCaseSource(nameof(Combinations))]
    [CancelAfter(60_000)]
    public async Task EveryCombinationKeepsTheContract(DeviceSource source, RingFormat ring, bool indirect, bool eventIdx, int queues, NotificationMode notifications)
    {
        using var device = source.Open(queues);
        var engine = PmdEngine.Start(new EngineOptions
        {
            Device = device.Device,
            Queues = queues,
            QueueSize = 32,
            Ring = ring,
            UseIndirect = indirect,
            UseEventIdx = eventIdx,
            Notifications = notifications,
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            AdaptiveIdleBudget = TimeSpan.FromMicroseconds(20),
            // An external back-end that dies fails the combination within seconds rather than being waited for.
            VhostUser = new VhostUserOptions { ReconnectTimeout = TimeSpan.FromSeconds(5) },
        });
        const int Writers = 6, PerWriter = 40;
        static byte Fill(int w, int i) => (byte)(w * 41 + i);
        try
        {
            var dev = engine.Device;
            Assert.That(dev.Features.HasFlag(Virtio.VirtioFeatures.RingPacked), Is.EqualTo(ring == RingFormat.Packed));
            Assert.That(dev.Features.HasFlag(Virtio.VirtioFeatures.RingIndirectDesc), Is.EqualTo(indirect));
            Assert.That(dev.Features.HasFlag(Virtio.VirtioFeatures.RingEventIdx), Is.EqualTo(eventIdx));
            Assert.That(dev.QueueCount, Is.EqualTo(queues));

            // More writers than ring entries, each with gaps so adaptive and interrupt modes go to sleep between bursts.
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                using var buf = dev.Rent(4096);
                for (int i = 0; i < PerWriter; i++)
                {
                    buf.Span.Fill(Fill(w, i));
                    await dev.WriteAsync((w * PerWriter + i) * 8L, buf.Memory);
                    if (i % 10 == 9) await Task.Delay(2);
                }
            })));
            await dev.FlushAsync();
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                using var buf = dev.Rent(4096);
                for (int i = 0; i < PerWriter; i++)
                {
                    await dev.ReadAsync((w * PerWriter + i) * 8L, buf.Memory);
                    Assert.That(buf.Span.ToArray(), Is.All.EqualTo(Fill(w, i)), $"writer {w} block {i}");
                }
            })));
            long requests = Enumerable.Range(0, queues).Sum(q => dev.GetQueue(q).Counters.Requests);
            Assert.That(requests, Is.EqualTo(2 * Writers * PerWriter + 1 /* flush */));
            Assert.That(Enumerable.Range(0, queues).Sum(q => dev.GetQueue(q).Counters.Errors), Is.Zero);

            // The callback form, on every reactor at once: each queue reads back 16 of the blocks written above.
            const int PerQueue = 16;
            var buffers = Enumerable.Range(0, queues).Select(_ => dev.Rent(PerQueue * 4096)).ToArray();
            try
            {
                var tallies = Enumerable.Range(0, queues).Select(_ => new QsdTestKit.Tally(PerQueue)).ToArray();
                var submitted = new int[queues];
                static int Block(int q, int i) => (q * PerQueue + i * 7) % (Writers * PerWriter);
                for (int q = 0; q < queues; q++)
                {
                    var queue = dev.GetQueue(q);
                    int qq = q;
                    queue.Reactor.Post(_ =>
                    {
                        for (int i = 0; i < PerQueue; i++)
                            if (queue.TrySubmitRead(Block(qq, i) * 8L, buffers[qq], i * 4096, 4096, tallies[qq], i)) submitted[qq]++;
                    }, null);
                }
                for (int q = 0; q < queues; q++)
                {
                    Assert.That(tallies[q].All.Wait(TimeSpan.FromSeconds(10)), Is.True, $"callbacks on queue {q}; device log: {device.Log}");
                    Assert.That(submitted[q], Is.EqualTo(PerQueue));
                    Assert.That(tallies[q].Statuses, Is.All.EqualTo(IoStatus.Ok));
                    Assert.That(tallies[q].Completions, Is.All.EqualTo(1));
                    for (int i = 0; i < PerQueue; i++)
                    {
                        int b = Block(q, i);
                        Assert.That(buffers[q].Span.Slice(i * 4096, 4096).IndexOfAnyExcept(Fill(b / PerWriter, b % PerWriter)), Is.EqualTo(-1),
                            $"queue {q} callback read {i} (block {b})");
                    }
                    Assert.That(dev.GetQueue(q).Counters.Requests, Is.GreaterThanOrEqualTo(PerQueue), $"queue {q} carried requests");
                }
            }
            finally
            {
                foreach (var b in buffers) b.Dispose();
            }
            Assert.That(engine.Reconnects, Is.Zero, $"the device never went away; device log: {device.Log}");
        }
        finally
        {
            engine.Dispose();
        }
        Assert.That(engine.Outstanding, Is.Zero);

        // Where the device keeps its data in a file, an independent reader finds every write there.
        if (device.ReadBack is { } readBack)
        {
            var disk = readBack();
            for (int w = 0; w < Writers; w++)
                for (int i = 0; i < PerWriter; i++)
                    Assert.That(disk.AsSpan((w * PerWriter + i) * 4096, 4096).IndexOfAnyExcept(Fill(w, i)), Is.EqualTo(-1),
                        $"writer {w} block {i} read back independently from {device.Device}");
        }
        Assert.That(device.Log, Is.Empty, "the back-end logged an error");
    }
}
