using System.Diagnostics;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// The file backend on a real block device (a loop device over an image in /var/tmp): the capacity is the device's,
/// reads, writes and flushes go through io_uring (and the synchronous path), and discard and write-zeroes zero exactly
/// their ranges through <c>fallocate</c> on the block device (PUNCH_HOLE and ZERO_RANGE, which the block layer turns
/// into its zero-out). What reached the device is checked in the backing file after the loop device is detached.
/// Needs root and a loop driver; skipped with the reason otherwise.
/// </summary>
[NonParallelizable]
public class LoopDeviceTests
{
    private sealed class LoopDevice : IDisposable
    {
        public string Path { get; }
        private bool _detached;

        private LoopDevice(string path) => Path = path;

        public static LoopDevice Attach(string image)
        {
            if (Environment.UserName != "root") Assert.Ignore("attaching a loop device needs root");
            var (rc, output) = Run("losetup", "--find", "--show", image);
            if (rc != 0 || !output.StartsWith("/dev/loop", StringComparison.Ordinal))
                Assert.Ignore($"losetup could not attach a loop device here (exit {rc}: {output.Trim()})");
            return new LoopDevice(output.Trim());
        }

        public void Detach()
        {
            if (_detached) return;
            _detached = true;
            var (rc, output) = Run("losetup", "--detach", Path);
            Assert.That(rc, Is.Zero, $"losetup --detach {Path}: {output}");
        }

        public void Dispose()
        {
            if (!_detached)
            {
                _detached = true;
                Run("losetup", "--detach", Path);
            }
        }

        private static (int Rc, string Output) Run(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            try
            {
                using var p = Process.Start(psi)!;
                string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
                if (!p.WaitForExit(30_000)) { p.Kill(); return (-1, "timed out"); }
                return (p.ExitCode, output);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return (-1, e.Message);
            }
        }
    }

    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine("/var/tmp", $"orion-loop-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase(FileIoEngine.IoUring, true)]
    [TestCase(FileIoEngine.IoUring, false)]
    [TestCase(FileIoEngine.Sync, true)]
    public void ABlockDeviceServesReadsWritesFlushesDiscardAndWriteZeroes(FileIoEngine engine, bool direct)
    {
        if (engine == FileIoEngine.IoUring)
        {
            if (!IoUring.TryCreate(4, out var probe, out string? why)) Assert.Ignore($"io_uring is not available here: {why}");
            probe!.Dispose();
        }
        const int Size = 4 << 20;
        var original = Payload.RandomBytes(Size, 21);
        string image = Path.Combine(_dir, "backing.img");
        File.WriteAllBytes(image, original);
        var expected = (byte[])original.Clone();
        using (var loop = LoopDevice.Attach(image))
        {
            var backend = new FileBackend(new FileBackendOptions { Path = loop.Path, Direct = direct, IoEngine = engine });
            using (var d = MiniDriver.Start(backend))
            {
                Assert.That(backend.Capacity, Is.EqualTo(Size), "the block device's size (lseek SEEK_END), not a stat size of 0");
                Assert.That(backend.IoEngine, Does.StartWith(engine == FileIoEngine.IoUring ? "io_uring" : "sync"));
                Assert.That(d.Read(2048, 4096).Data, Is.EqualTo(original.AsSpan(2048 * 512, 4096).ToArray()));

                var data = Payload.RandomBytes(64 << 10, 22);
                Assert.That(d.Write(64, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
                data.CopyTo(expected, 64 * 512);
                Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
                Assert.That(d.Read(64, data.Length).Data, Is.EqualTo(data));

                var discard = d.Execute(new BlkRequestHeader(BlkRequestType.Discard, 0), Payload.Ranges(new BlkDiscardWriteZeroes(1024, 16)));
                Assert.That(discard.BlkStatus, Is.EqualTo(BlkStatus.Ok));
                Array.Clear(expected, 1024 * 512, 16 * 512);
                var zeroes = d.Execute(new BlkRequestHeader(BlkRequestType.WriteZeroes, 0),
                    Payload.Ranges(new BlkDiscardWriteZeroes(4000, 8), new BlkDiscardWriteZeroes(6000, 1)));
                Assert.That(zeroes.BlkStatus, Is.EqualTo(BlkStatus.Ok));
                Array.Clear(expected, 4000 * 512, 8 * 512);
                Array.Clear(expected, 6000 * 512, 512);
                Assert.That(d.Read(1024, 16 * 512).Data, Is.All.Zero);
                Assert.That(d.Read(4000, 8 * 512).Data, Is.All.Zero);
                // The neighbours of a zeroed range are untouched.
                Assert.That(d.Read(1040, 4096).Data, Is.EqualTo(expected.AsSpan(1040 * 512, 4096).ToArray()));
                Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            }
            loop.Detach();      // the loop driver has written everything back to the image
        }
        var onDisk = File.ReadAllBytes(image);
        for (int sector = 0; sector < Size / 512; sector++)
        {
            if (!onDisk.AsSpan(sector * 512, 512).SequenceEqual(expected.AsSpan(sector * 512, 512)))
                Assert.Fail($"sector {sector} of the backing image differs from what the device was asked to do");
        }
    }
}
