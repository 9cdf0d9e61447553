using Basis.Hocon;
using Basis.Hocon.Configuration;

namespace Microsoft.Extensions.Configuration;

public static class HoconConfigurationExtensions
{
    /// <summary>
    /// Adds a HOCON file as a layer. Consecutive HOCON layers are merged before substitutions are resolved, so a later
    /// file can refer to (and override, or extend with <c>+=</c>) settings of an earlier one.
    /// </summary>
    public static IConfigurationBuilder AddHoconFile(this IConfigurationBuilder builder, string path, bool optional = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        CurrentSource(builder).Layers.Add(HoconSource.FromFile(path, optional));
        return builder;
    }

    /// <summary>Adds HOCON text as a layer; <paramref name="sourceName"/> is what error messages call it.</summary>
    public static IConfigurationBuilder AddHoconString(this IConfigurationBuilder builder, string text, string sourceName = "<string>")
    {
        ArgumentNullException.ThrowIfNull(builder);
        CurrentSource(builder).Layers.Add(HoconSource.FromString(text, sourceName));
        return builder;
    }

    /// <summary>Adds several HOCON files as layers, later files overriding earlier ones.</summary>
    public static IConfigurationBuilder AddHoconFiles(this IConfigurationBuilder builder, IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        foreach (string path in paths)
        {
            builder.AddHoconFile(path);
        }

        return builder;
    }

    private static HoconConfigurationSource CurrentSource(IConfigurationBuilder builder)
    {
        if (builder.Sources.Count > 0 && builder.Sources[^1] is HoconConfigurationSource last)
        {
            return last;
        }

        var source = new HoconConfigurationSource();
        builder.Add(source);
        return source;
    }
}
