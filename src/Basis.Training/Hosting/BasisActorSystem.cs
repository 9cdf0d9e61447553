using Akka.Actor;
using Akka.Configuration;

namespace Basis.Training.Hosting;

/// <summary>
/// Creates the run's ActorSystem from the project's one HOCON tree: the <c>akka { }</c> section of the resolved
/// configuration (hocon/reference.conf plus the --config layers, as <c>basis config render</c> shows it) is rendered
/// as JSON by the project's HOCON parser and handed to Akka, with Akka's own defaults as the fallback. Akka's parser
/// then only ever reads plain JSON, so includes, <c>${?ENV}</c> and <c>+=</c> work in every file (docs/configuration.md).
/// </summary>
public static class BasisActorSystem
{
    /// <summary>The dispatchers the training graph names (as hocon/reference.conf defines them), for systems built without it (tests, benchmarks).</summary>
    public const string Dispatchers = """
        akka.actor.basis-generator-dispatcher { type = PinnedDispatcher, executor = "fork-join-executor" }
        akka.actor.basis-learner-dispatcher { type = PinnedDispatcher, executor = "fork-join-executor" }
        """;

    /// <summary>The settings a run falls back on when its configuration has no <c>akka</c> section (tests, benchmarks).</summary>
    public const string Defaults = Dispatchers + """

        akka {
          loglevel = WARNING
          stdout-loglevel = WARNING
          loggers = ["Basis.Training.Hosting.RunLogger, Basis.Training"]
        }
        """;

    /// <summary>
    /// An ActorSystem configured by <paramref name="akkaJson"/> (the rendered <c>akka</c> section; null or empty = the
    /// defaults), with <paramref name="plugins"/> (settings built in code, such as the journal's) underneath it.
    /// </summary>
    public static ActorSystem Create(string name, string? akkaJson = null, Config? plugins = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return ActorSystem.Create(name, ConfigFor(akkaJson, plugins));
    }

    /// <summary>The configuration <see cref="Create"/> uses: the akka section, then the plugins, then the project's defaults.</summary>
    public static Config ConfigFor(string? akkaJson, Config? plugins = null)
    {
        Config config = string.IsNullOrWhiteSpace(akkaJson) ? ConfigurationFactory.Empty : ConfigurationFactory.ParseString(akkaJson);
        if (plugins is not null)
        {
            config = config.WithFallback(plugins);
        }

        return config.WithFallback(ConfigurationFactory.ParseString(Defaults));
    }
}
