using Orion.Perf;

return PerfCommand.Run(args, Console.Out, Console.Error);
