System.Console.WriteLine("orion-perf");
