using System.CommandLine;

namespace Basis.Cli.Commands;

// Placeholder until the owning area lands; replaced by the real verb.
internal static class MseBenchCommand
{
    public static Command Create()
    {
        var command = new Command("mse-bench", "(not yet available)");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("basis mse-bench: not yet available");
            return 1;
        });
        return command;
    }
}
