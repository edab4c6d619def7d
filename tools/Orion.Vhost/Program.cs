using Orion.Vhost;

return VhostCommand.Run(args, Console.Out, JournalWriter.For(Console.Error, Environment.GetEnvironmentVariable("JOURNAL_STREAM")));
