using Basis.Hocon.Configuration;
using Microsoft.Extensions.Configuration;

namespace Basis.Cluster;

/// <summary>Reads <c>basis.cluster</c> from hocon/reference.conf layered with the given files.</summary>
public static class ClusterConfig
{
    public const string Section = "basis:cluster";

    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="Hocon.HoconException">A file does not parse or resolve.</exception>
    /// <exception cref="HoconOptionsException">A setting is invalid; the message names the key, file and line.</exception>
    public static ClusterSettings Load(IEnumerable<string> files)
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

        // The secret belongs to the environment: a saved, resolved configuration (a resumed run's) may leave it out.
        if (string.IsNullOrEmpty(settings.Secret))
        {
            settings.Secret = Environment.GetEnvironmentVariable(Membership.ClusterSecret.Variable);
        }

        return settings;
    }
}
