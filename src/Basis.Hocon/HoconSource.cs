using Basis.Hocon.Parsing;

namespace Basis.Hocon;

/// <summary>One configuration layer: a file (optionally allowed to be missing) or a string.</summary>
public sealed class HoconSource
{
    private HoconSource(string name, string? path, string? text, bool optional)
    {
        Name = name;
        FilePath = path;
        Text = text;
        Optional = optional;
    }

    /// <summary>The name errors use: the file path as given, or the name of a string source.</summary>
    public string Name { get; }

    public string? FilePath { get; }

    public string? Text { get; }

    /// <summary>A missing optional file contributes nothing instead of failing.</summary>
    public bool Optional { get; }

    public static HoconSource FromFile(string path, bool optional = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new HoconSource(path, path, null, optional);
    }

    public static HoconSource FromString(string text, string name = "<string>")
    {
        ArgumentNullException.ThrowIfNull(text);
        return new HoconSource(name, null, text, false);
    }

    public override string ToString() => Name;

    /// <returns>The unresolved tree, or null for a missing optional file.</returns>
    internal ObjectNode? ParseUnresolved(IncludeContext includes)
    {
        if (Text is not null)
        {
            return HoconParser.Parse(Text, Name, includes.Settings.BaseDirectory, [], includes, 0);
        }

        if (!File.Exists(FilePath))
        {
            return Optional ? null : throw new HoconException(new HoconOrigin(Name, 0, 0), "configuration file not found");
        }

        return includes.ParseFile(FilePath!, [], 0, null);
    }
}
