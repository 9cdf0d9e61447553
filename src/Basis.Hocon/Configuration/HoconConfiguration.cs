using Microsoft.Extensions.Configuration;

namespace Basis.Hocon.Configuration;

/// <summary>Loads Basis's layered configuration: hocon/reference.conf, then each given file in order.</summary>
public static class HoconConfiguration
{
    public const string ReferenceFile = "hocon/reference.conf";
    public const string HomeVariable = "BASIS_HOME";

    /// <summary>
    /// Finds hocon/reference.conf: under $BASIS_HOME when it is set, else relative to the current directory, else in
    /// the nearest folder above the application's base directory that has one.
    /// </summary>
    /// <exception cref="HoconException">Nowhere to be found; the message lists the places searched.</exception>
    public static string LocateReferenceFile(string? currentDirectory = null, string? baseDirectory = null, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string relative = ReferenceFile.Replace('/', Path.DirectorySeparatorChar);
        if (environment(HomeVariable) is { Length: > 0 } home)
        {
            string fromHome = Path.Combine(home, relative);
            return File.Exists(fromHome)
                ? fromHome
                : throw new HoconException($"{HomeVariable} is set to '{home}' but {fromHome} does not exist");
        }

        var searched = new List<string>();
        string fromCurrent = Path.Combine(currentDirectory ?? Environment.CurrentDirectory, relative);
        searched.Add(fromCurrent);
        if (File.Exists(fromCurrent))
        {
            return fromCurrent;
        }

        for (var directory = new DirectoryInfo(baseDirectory ?? AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }

            searched.Add(candidate);
        }

        throw new HoconException($"cannot find {ReferenceFile}; set {HomeVariable} to the folder that contains hocon/ (searched: {string.Join(", ", searched)})");
    }

    /// <summary>The layers a Basis command reads: reference.conf first, then <paramref name="files"/> in order.</summary>
    public static IReadOnlyList<string> Layers(IEnumerable<string> files, string? referenceFile = null)
        => [referenceFile ?? LocateReferenceFile(), .. files];

    /// <summary>The resolved tree of reference.conf plus <paramref name="files"/> (what <c>basis config render</c> prints).</summary>
    public static HoconConfig LoadTree(IEnumerable<string> files, string? referenceFile = null, HoconLoadSettings? settings = null)
        => HoconConfig.LoadFiles(Layers(files, referenceFile), settings);

    /// <summary>
    /// reference.conf plus <paramref name="files"/> as an <see cref="IConfigurationRoot"/> for options binding; use
    /// <see cref="TryGetOrigin"/> and <see cref="HoconOptions.BindAndValidate{T}"/> with it.
    /// </summary>
    public static IConfigurationRoot Load(IEnumerable<string> files, string? referenceFile = null, HoconLoadSettings? settings = null)
    {
        var builder = new ConfigurationBuilder();
        foreach (string layer in Layers(files, referenceFile))
        {
            builder.AddHoconFile(layer);
        }

        if (settings is not null)
        {
            ((HoconConfigurationSource)builder.Sources[^1]).Settings = settings;
        }

        return builder.Build();
    }

    /// <summary>The resolved tree behind a configuration built by <see cref="Load"/> (its last HOCON source), without parsing again.</summary>
    public static HoconConfig? TreeOf(IConfigurationRoot configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.Providers.OfType<HoconConfigurationProvider>().LastOrDefault()?.Config;
    }

    /// <summary>
    /// The <c>akka</c> section of a resolved tree as JSON with its root key (<c>{"akka":{...}}</c>), for Akka's
    /// <c>ConfigurationFactory.ParseString</c>; null when the tree has no such section.
    /// </summary>
    public static string? AkkaSection(HoconConfig tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        return tree.HasPath("akka") ? "{\"akka\":" + tree.GetConfig("akka").ToJson(indented: false) + "}" : null;
    }

    /// <summary>Where the value of <paramref name="key"/> (<c>basis:train:steps</c>) was written, if a HOCON layer set it.</summary>
    public static bool TryGetOrigin(IConfiguration configuration, string key, out HoconOrigin origin)
    {
        if (configuration is IConfigurationRoot root)
        {
            foreach (IConfigurationProvider provider in root.Providers.Reverse())
            {
                if (provider.TryGet(key, out _) || provider.GetChildKeys([], key).Any())
                {
                    if (provider is HoconConfigurationProvider hocon && hocon.TryGetOrigin(key, out origin))
                    {
                        return true;
                    }

                    break;
                }
            }
        }

        origin = default;
        return false;
    }
}
