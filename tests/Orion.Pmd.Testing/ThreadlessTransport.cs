using Orion.Pmd.Device;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Virtio;

namespace Orion.Pmd.Testing;

/// <summary>
/// The embedded software device with no threads of its own (manual mode: it serves its rings only when polled, on the
/// test's thread), behind switches that make it misbehave the way an untrusted device may: status reads that throw,
/// refused queue resets, queues not taken back, refused device resets, a stalled device.
/// </summary>
public class ThreadlessTransport : DelegatingTransport
{
    /// <summary>Wraps <paramref name="device"/>, which must run in <see cref="DeviceServiceMode.Manual"/> (the transport owns it).</summary>
    public ThreadlessTransport(SoftBlkDevice device) : base(new EmbeddedTransport(device))
    {
        if (device.Options.Mode != DeviceServiceMode.Manual)
            throw new ArgumentException($"a threadless transport needs a device in manual mode, not {device.Options.Mode}", nameof(device));
        Device = device;
    }

    /// <summary>A manual device of <paramref name="bytes"/> in memory with <paramref name="queues"/> queues.</summary>
    public static SoftBlkDevice MemoryDevice(long bytes = 16 << 20, int queues = 1)
        => new(new MemoryBackend(bytes), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, NumQueues = queues });

    /// <summary>The device behind the transport.</summary>
    public SoftBlkDevice Device { get; }

    /// <summary>While set, reading the device status throws (an escape the queue's poller cannot handle).</summary>
    public bool StatusReadsFail { get; set; }

    /// <summary>While set, a queue reset throws (the device refuses it).</summary>
    public bool QueueResetsFail { get; set; }

    /// <summary>While set, re-enabling a reset queue throws (the device does not take the queue back).</summary>
    public bool QueueEnablesFail { get; set; }

    /// <summary>While set, a device reset throws before the device let go of anything.</summary>
    public bool DeviceResetsFail { get; set; }

    /// <summary>While set, the device does no work: requests stay in flight.</summary>
    public bool DeviceStalled { get; set; }

    /// <summary>Device resets done so far.</summary>
    public int Resets { get; private set; }

    /// <inheritdoc />
    public override DeviceStatus GetStatus() => StatusReadsFail ? throw new InvalidOperationException("test: the status read failed") : base.GetStatus();

    /// <inheritdoc />
    public override void ResetQueue(int index)
    {
        if (QueueResetsFail) throw new IOException("test: the device refused the queue reset");
        base.ResetQueue(index);
    }

    /// <inheritdoc />
    public override void EnableQueue(int index)
    {
        if (QueueEnablesFail) throw new IOException("test: the device did not take the queue back");
        base.EnableQueue(index);
    }

    /// <inheritdoc />
    public override void ResetDevice()
    {
        if (DeviceResetsFail) throw new IOException("test: the device refused the reset");
        base.ResetDevice();
        Resets++;
    }

    /// <inheritdoc />
    public override int PollDevice() => DeviceStalled ? 0 : base.PollDevice();
}
