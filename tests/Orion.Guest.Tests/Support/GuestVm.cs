using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Orion.Guest.Tests.Support;

/// <summary>
/// One Linux guest under QEMU (TCG, never KVM: nested KVM fails on these machines) running a test script as its
/// <c>/test.sh</c>. The script's lines reach the host on the serial console (QEMU's stdout): steps
/// (<c>ORION-GUEST-STEP: name</c>), values (<c>ORION-GUEST-VALUE: key value</c>) and the verdict printed by the
/// initramfs's /init. Every wait is bounded; <see cref="Dispose"/> kills QEMU and removes the private directory.
/// </summary>
internal sealed class GuestVm : IDisposable
{
    /// <summary>Shell functions every test script can use: <c>step NAME</c>, <c>value KEY VALUE</c>, <c>fail MESSAGE</c>, <c>wait_for_disk DEV</c>.</summary>
    public const string Prelude = """
        step() { echo "ORION-GUEST-STEP: $*"; }
        value() { echo "ORION-GUEST-VALUE: $*"; }
        fail() { echo "ORION-GUEST-NOTE: $*"; exit 1; }
        wait_for_disk() { i=0; while [ ! -b "$1" ]; do i=$((i + 1)); [ $i -lt 200 ] || fail "no $1 after 20 s"; sleep 0.1; done; }

        """;

    private const string StepPrefix = "ORION-GUEST-STEP: ", ValuePrefix = "ORION-GUEST-VALUE: ", VerdictPrefix = "ORION-GUEST-VERDICT: ";
    private readonly StringBuilder _console = new();
    private readonly BlockingCollection<string> _steps = new();
    private readonly ConcurrentDictionary<string, string> _values = new();
    private readonly TaskCompletionSource<string> _verdict = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Process _qemu;
    private readonly string _directory;

    private GuestVm(Process qemu, string directory)
    {
        _qemu = qemu;
        _directory = directory;
    }

    /// <summary>Everything the guest printed on its serial console so far (and QEMU's own errors).</summary>
    public string Console { get { lock (_console) return _console.ToString(); } }

    /// <summary>
    /// Boots a guest running <paramref name="script"/> (after <see cref="Prelude"/>, under <c>sh -e</c>) with
    /// <paramref name="qemuArgs"/> added to QEMU's command line (its disks). <paramref name="memoryMiB"/> of guest
    /// memory come from a shared memfd (what a vhost-user back-end maps). <paramref name="programs"/> are host files
    /// copied into the guest's <c>/bin</c> (scripts; a dynamically linked program also needs its libraries);
    /// <paramref name="layers"/> are further initramfs layers (cpio.gz) unpacked after the artefacts' own.
    /// </summary>
    public static GuestVm Start(GuestArtefacts artefacts, string script, IEnumerable<string> qemuArgs, int memoryMiB = 512,
                                string machine = "pc", string kernelArgs = "", IEnumerable<string>? programs = null,
                                IEnumerable<string>? layers = null)
    {
        string dir = Directory.CreateTempSubdirectory("orion-guest-").FullName;
        string initrd = Path.Combine(dir, "initrd");
        WriteInitrd(artefacts, Prelude + script, programs ?? [], layers ?? [], dir, initrd);
        var psi = new ProcessStartInfo(GuestArtefacts.Qemu)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "-nodefaults", "-machine", machine, "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", "2",
                     "-m", $"{memoryMiB}", "-object", $"memory-backend-memfd,id=mem,size={memoryMiB}M,share=on",
                     "-numa", "node,memdev=mem", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
                     "-kernel", artefacts.Kernel, "-initrd", initrd,
                     "-append", $"console=ttyS0 panic=-1 quiet {kernelArgs}".TrimEnd(),
                 })
            psi.ArgumentList.Add(a);
        foreach (var a in qemuArgs) psi.ArgumentList.Add(a);
        var vm = new GuestVm(new Process { StartInfo = psi, EnableRaisingEvents = true }, dir);
        vm._qemu.OutputDataReceived += (_, e) => vm.OnLine(e.Data);
        vm._qemu.ErrorDataReceived += (_, e) => vm.OnLine(e.Data is null ? null : "qemu: " + e.Data);
        vm._qemu.Exited += (_, _) =>
        {
            vm._qemu.WaitForExit();                                  // the console's last lines are read first
            vm._verdict.TrySetResult("");
        };
        vm._qemu.Start();
        vm._qemu.StandardInput.Close();
        vm._qemu.BeginOutputReadLine();
        vm._qemu.BeginErrorReadLine();
        return vm;
    }

    private void OnLine(string? raw)
    {
        if (raw is null) return;
        string line = raw.TrimEnd('\r');
        lock (_console) _console.AppendLine(line);
        if (line.StartsWith(StepPrefix, StringComparison.Ordinal)) _steps.Add(line[StepPrefix.Length..]);
        else if (line.StartsWith(ValuePrefix, StringComparison.Ordinal))
        {
            string kv = line[ValuePrefix.Length..];
            int space = kv.IndexOf(' ');
            if (space > 0) _values[kv[..space]] = kv[(space + 1)..];
        }
        else if (line.StartsWith(VerdictPrefix, StringComparison.Ordinal)) _verdict.TrySetResult(line[VerdictPrefix.Length..]);
    }

    /// <summary>Waits (bounded) until the guest prints step <paramref name="name"/>; fails the test with the console otherwise.</summary>
    public void WaitForStep(string name, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !_steps.TryTake(out string? step, left))
            {
                Assert.Fail($"the guest did not reach step '{name}' within {timeout.TotalSeconds:0} s; console:\n{Console}");
                return;
            }
            if (step == name) return;
        }
    }

    /// <summary>A value the guest printed with <c>value KEY VALUE</c>; fails the test when it printed none.</summary>
    public string Value(string key)
    {
        if (!_values.TryGetValue(key, out string? v)) Assert.Fail($"the guest printed no value '{key}'; console:\n{Console}");
        return v!;
    }

    /// <summary>
    /// Waits (bounded) for the verdict and QEMU's exit, and asserts the guest passed: the test fails with the console
    /// when the script failed, the guest stopped without a verdict, or it ran past <paramref name="timeout"/>.
    /// </summary>
    public void AssertPassed(TimeSpan timeout)
    {
        if (!_verdict.Task.Wait(timeout))
            Assert.Fail($"the guest gave no verdict within {timeout.TotalSeconds:0} s; console:\n{Console}");
        string verdict = _verdict.Task.Result;
        if (verdict == "PASS") _qemu.WaitForExit(30_000);          // poweroff -f follows at once
        Assert.That(verdict, Is.EqualTo("PASS"), verdict.Length == 0 ? $"QEMU exited without a verdict; console:\n{Console}" : $"the guest's script failed; console:\n{Console}");
    }

    private static void WriteInitrd(GuestArtefacts artefacts, string script, IEnumerable<string> programs, IEnumerable<string> layers, string dir, string initrd)
    {
        string layer = Path.Combine(dir, "layer");
        Directory.CreateDirectory(Path.Combine(layer, "bin"));
        File.WriteAllText(Path.Combine(layer, "test.sh"), script);
        foreach (var program in programs)
        {
            File.Copy(program, Path.Combine(layer, "bin", Path.GetFileName(program)));
        }
        string packed = Path.Combine(dir, "layer.cpio.gz");
        var psi = new ProcessStartInfo("sh") { UseShellExecute = false, RedirectStandardError = true, WorkingDirectory = layer };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"chmod -R a+x bin && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1 > '{packed}'");
        using (var p = Process.Start(psi)!)
        {
            string err = p.StandardError.ReadToEnd();
            if (!p.WaitForExit(30_000) || p.ExitCode != 0) Assert.Fail($"packing the test's initramfs layer failed: {err}");
        }
        // The kernel reads concatenated archives; each starts on a 4-byte boundary (zero padding is skipped).
        using var output = File.Create(initrd);
        foreach (var part in artefacts.Layers.Concat(layers).Append(packed))
        {
            using (var input = File.OpenRead(part)) input.CopyTo(output);
            while (output.Position % 4 != 0) output.WriteByte(0);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_qemu.HasExited)
            {
                _qemu.Kill();
                _qemu.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        _qemu.Dispose();
        _steps.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
