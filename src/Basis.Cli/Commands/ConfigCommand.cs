using System.CommandLine;
using Basis.Hocon;
using Basis.Hocon.Configuration;

namespace Basis.Cli.Commands;

/// <summary><c>basis config render [--config FILE]...</c>: prints the resolved, layered configuration as JSON.</summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var command = new Command("config", "Inspect the HOCON configuration: hocon/reference.conf with --config files layered on top.");
        command.Subcommands.Add(CreateRender());
        return command;
    }

    private static Command CreateRender()
    {
        var configOption = new Option<string[]>("--config")
        {
            Description = "A HOCON file layered on top of hocon/reference.conf; repeat it, later files override earlier ones.",
            HelpName = "FILE",
            DefaultValueFactory = _ => [],
            AllowMultipleArgumentsPerToken = false,
        };
        var render = new Command(
            "render",
            "Print the fully resolved configuration as indented JSON. Layers: hocon/reference.conf (found via $BASIS_HOME, the current directory, "
            + "or above the program's folder), then each --config file in order; substitutions resolve across all layers. "
            + "A bad file prints file:line:column and the problem to stderr and exits with 1.");
        render.Options.Add(configOption);
        render.SetAction(parseResult =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            try
            {
                HoconConfig config = HoconConfiguration.LoadTree(parseResult.GetValue(configOption) ?? []);
                output.WriteLine(config.ToJson(indented: true));
                return 0;
            }
            catch (HoconException e)
            {
                error.WriteLine($"basis config render: {e.Message}");
                return 1;
            }
        });
        return render;
    }
}
