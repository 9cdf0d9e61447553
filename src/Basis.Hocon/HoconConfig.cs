using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Basis.Hocon.Parsing;

namespace Basis.Hocon;

/// <summary>
/// A fully resolved configuration with typed getters. Paths are HOCON path expressions (<c>basis.train.steps</c>);
/// every getter error names the key and where its value was written.
/// </summary>
public sealed class HoconConfig
{
    private static readonly JsonWriterOptions s_indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions s_compact = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public HoconConfig(HoconObject root) => Root = root ?? throw new ArgumentNullException(nameof(root));

    public HoconObject Root { get; }

    public static HoconConfig Parse(string text, string sourceName = "<string>", HoconLoadSettings? settings = null)
        => Load([HoconSource.FromString(text, sourceName)], settings);

    public static HoconConfig ParseFile(string path, HoconLoadSettings? settings = null)
        => Load([HoconSource.FromFile(path)], settings);

    /// <summary>
    /// Loads layers in order, later layers overriding earlier ones (HOCON <c>withFallback</c>): the unresolved trees
    /// are merged first and resolved once, so a substitution in any layer sees the merged result of all of them and a
    /// self-reference (<c>a = ${a} [x]</c>, <c>a += x</c>) sees the earlier layers' value.
    /// </summary>
    public static HoconConfig Load(IEnumerable<HoconSource> sources, HoconLoadSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        settings ??= HoconLoadSettings.Default;
        var includes = new IncludeContext(settings);
        ObjectNode? merged = null;
        foreach (HoconSource source in sources)
        {
            if (source.ParseUnresolved(includes) is not { } layer)
            {
                continue;
            }

            merged = merged is null ? layer : (ObjectNode)NodeMerger.Stack(layer, merged);
        }

        merged ??= new ObjectNode(new HoconOrigin("<empty>", 0, 0));
        return new HoconConfig(HoconResolver.Resolve(merged, settings));
    }

    /// <summary>Loads files in order (later files override earlier ones); every file must exist.</summary>
    public static HoconConfig LoadFiles(IEnumerable<string> paths, HoconLoadSettings? settings = null)
        => Load(paths.Select(path => HoconSource.FromFile(path)), settings);

    public bool HasPath(string path) => Find(path) is not null;

    /// <summary>The value at <paramref name="path"/>, or null when there is none.</summary>
    public HoconValue? Find(string path)
    {
        HoconValue? current = Root;
        foreach (string segment in ParsePath(path))
        {
            if (current is not HoconObject obj || !obj.TryGetValue(segment, out current))
            {
                return null;
            }
        }

        return current;
    }

    public HoconValue GetValue(string path)
        => Find(path) ?? throw new HoconException($"missing setting '{path}' (it is in none of the configuration files)");

    public HoconOrigin? GetOrigin(string path) => Find(path)?.Origin;

    public string GetString(string path)
    {
        HoconValue value = GetValue(path);
        return value is HoconScalar { Text: { } text } ? text : throw WrongType(path, value, "a string");
    }

    public bool GetBoolean(string path)
    {
        HoconValue value = GetValue(path);
        return value is HoconScalar { Text: { } text } && TryParseBoolean(text, out bool result)
            ? result
            : throw WrongType(path, value, "a boolean (true/false, yes/no, on/off)");
    }

    public int GetInt32(string path)
    {
        HoconValue value = GetValue(path);
        return value is HoconScalar { Text: { } text } && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int result)
            ? result
            : throw WrongType(path, value, "a 32-bit integer");
    }

    public long GetInt64(string path)
    {
        HoconValue value = GetValue(path);
        return value is HoconScalar { Text: { } text } && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long result)
            ? result
            : throw WrongType(path, value, "a 64-bit integer");
    }

    public double GetDouble(string path)
    {
        HoconValue value = GetValue(path);
        return value is HoconScalar { Text: { } text } && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double result)
            ? result
            : throw WrongType(path, value, "a number");
    }

    /// <summary>A duration such as "10s", "500 ms" or "2 minutes"; a bare number is milliseconds.</summary>
    public TimeSpan GetDuration(string path)
    {
        HoconValue value = GetValue(path);
        return value is HoconScalar { Text: { } text } && HoconDuration.TryParse(text, out TimeSpan result)
            ? result
            : throw WrongType(path, value, "a duration such as \"10s\", \"500 ms\" or \"2 minutes\"");
    }

    /// <summary>A size in bytes such as "512 MiB", "1G" or "10kB"; a bare number is bytes.</summary>
    public long GetBytes(string path)
    {
        HoconValue value = GetValue(path);
        return value is HoconScalar { Text: { } text } && ByteSize.TryParse(text, out ByteSize result)
            ? result.Bytes
            : throw WrongType(path, value, "a size such as \"512 MiB\", \"1G\" or \"10kB\"");
    }

    public IReadOnlyList<string> GetStringList(string path)
    {
        HoconValue value = GetValue(path);
        if (value is not HoconArray array)
        {
            throw WrongType(path, value, "an array of strings");
        }

        return [.. array.Select((item, i) => item is HoconScalar { Text: { } text } ? text : throw WrongType($"{path}[{i}]", item, "a string"))];
    }

    public HoconConfig GetConfig(string path)
    {
        HoconValue value = GetValue(path);
        return value is HoconObject obj ? new HoconConfig(obj) : throw WrongType(path, value, "an object");
    }

    /// <summary>The configuration as JSON: objects keep their field order, numbers keep their written form.</summary>
    public string ToJson(bool indented = true)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, indented ? s_indented : s_compact))
        {
            WriteJson(writer, Root);
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public override string ToString() => ToJson(indented: false);

    internal static bool TryParseBoolean(string text, out bool value)
    {
        switch (text)
        {
            case "true" or "yes" or "on":
                value = true;
                return true;
            case "false" or "no" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    private static void WriteJson(Utf8JsonWriter writer, HoconValue value)
    {
        switch (value)
        {
            case HoconObject obj:
                writer.WriteStartObject();
                foreach (var (key, child) in obj)
                {
                    writer.WritePropertyName(key);
                    WriteJson(writer, child);
                }

                writer.WriteEndObject();
                break;
            case HoconArray array:
                writer.WriteStartArray();
                foreach (HoconValue item in array)
                {
                    WriteJson(writer, item);
                }

                writer.WriteEndArray();
                break;
            case HoconScalar { Kind: HoconValueKind.Null }:
                writer.WriteNullValue();
                break;
            case HoconScalar { Kind: HoconValueKind.Boolean } boolean:
                writer.WriteBooleanValue(boolean.Text == "true");
                break;
            case HoconScalar { Kind: HoconValueKind.Number } number:
                writer.WriteRawValue(number.Text!, skipInputValidation: false);
                break;
            case HoconScalar scalar:
                writer.WriteStringValue(scalar.Text);
                break;
        }
    }

    private static string[] ParsePath(string path)
        => PathExpression.TryParse(path, out string[] segments, out string? error) ? segments : throw new ArgumentException(error, nameof(path));

    private static HoconException WrongType(string path, HoconValue value, string expected)
    {
        string actual = value is HoconScalar { Text: { } text } ? $"{HoconValue.Describe(value.Kind)} \"{text}\"" : HoconValue.Describe(value.Kind);
        return new HoconException(value.Origin, $"'{path}' must be {expected}, but it is {actual}");
    }
}
