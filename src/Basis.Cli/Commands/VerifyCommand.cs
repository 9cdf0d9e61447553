using System.CommandLine;

namespace Basis.Cli.Commands;

// Placeholder until the owning area lands; replaced by the real verb.
internal static class VerifyCommand
{
    public static Command Create()
    {
        var command = new Command("verify", "(not yet available)");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("basis verify: not yet available");
            return 1;
        });
        return command;
    }
}
