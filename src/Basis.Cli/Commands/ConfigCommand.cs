using System.CommandLine;

namespace Basis.Cli.Commands;

// Placeholder until the owning area lands; replaced by the real verb.
internal static class ConfigCommand
{
    public static Command Create()
    {
        var command = new Command("config", "(not yet available)");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("basis config: not yet available");
            return 1;
        });
        return command;
    }
}
