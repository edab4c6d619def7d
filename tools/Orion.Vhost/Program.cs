using Orion.Vhost;

return VhostCommand.Run(args, Console.Out, Console.Error);
