using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project perf/Orion.Pmd.Benchmarks -- --filter '*'
// CI smoke check: ... -- --filter '*' --job dry --inProcess
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point holder for BenchmarkSwitcher.</summary>
public partial class Program;
