using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project perf/Orion.Pmd.Benchmarks -- --filter '*'
// CI smoke check: ... -- --filter '*' --job dry --inProcess
// Idle CPU per notification mode: ... -- idle-cpu [seconds]
// Recovery cost (fault to first good completion): ... -- recovery-cost [runs]
// vhost-user back-end restart cost (kill to first good completion): ... -- backend-restart-cost [runs]
// Bare two-thread ring round trip, the QD1 reference of issue 16: ... -- ring-probe [seconds] [cpuA] [cpuB]
if (args.Length > 0 && args[0] == "idle-cpu") return Orion.Pmd.Benchmarks.IdleCpuProbe.Run(args);
if (args.Length > 0 && args[0] == "recovery-cost") return Orion.Pmd.Benchmarks.RecoveryCostProbe.Run(args);
if (args.Length > 0 && args[0] == "ring-probe") return Orion.Pmd.Benchmarks.RingProbe.Run(args);
if (args.Length > 0 && args[0] == "backend-restart-cost") return Orion.Pmd.Benchmarks.BackendRestartProbe.Run(args);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point holder for BenchmarkSwitcher.</summary>
public partial class Program;
