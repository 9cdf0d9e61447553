using Basis.Hocon;
using Basis.Hocon.Configuration;
using Microsoft.Extensions.Configuration;

namespace Basis.Cluster;

/// <summary>A node's configuration: <c>basis.cluster</c> bound and validated, and the tree's <c>akka</c> section for the ActorSystem.</summary>
/// <param name="AkkaHocon">The resolved <c>akka</c> section rendered as HOCON (JSON) for Akka's own parser; empty when there is none.</param>
public sealed record ClusterConfiguration(ClusterSettings Settings, string AkkaHocon);

/// <summary>Reads <c>basis.cluster</c> and <c>akka</c> from hocon/reference.conf layered with the given files.</summary>
public static class ClusterConfig
{
    public const string Section = "basis:cluster";

    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="HoconException">A file does not parse or resolve.</exception>
    /// <exception cref="HoconOptionsException">A setting is invalid; the message names the key, file and line.</exception>
    public static ClusterConfiguration Load(IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        string[] paths = files.ToArray();
        foreach (string file in paths)
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"configuration file '{file}' does not exist.", file);
            }
        }

        IConfigurationRoot configuration = HoconConfiguration.Load(paths);
        ClusterSettings settings = HoconOptions.BindAndValidate<ClusterSettings>(configuration, Section);
        string? akka = HoconConfiguration.TreeOf(configuration) is { } tree ? HoconConfiguration.AkkaSection(tree) : null;
        return new ClusterConfiguration(settings, akka ?? string.Empty);
    }
}
