using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka.Configuration;
using AkkaHoconValue = Akka.Configuration.Hocon.HoconValue;

namespace Basis.Hocon.Bench;

/// <summary>
/// `akka-parser`: the measurement behind "one parser for one file" (docs/configuration.md). Runs Akka.NET's own HOCON
/// parser (ConfigurationFactory.ParseString) over the reference implementation's equivalence sets that our parser
/// passes, prints which files it reads to the same tree as original.json, and times both parsers on
/// akka-reference-test04.conf and on hocon/reference.conf + local.conf.
/// </summary>
internal static class AkkaParserComparison
{
    public static int Run()
    {
        string data = Path.Combine(Root(), "data", "hocon-conformance");
        int passed = 0;
        int total = 0;
        Console.WriteLine($"{"file",-40} {"ours",-6} akka");
        foreach (string folder in Directory.GetDirectories(data, "equiv*").Order(StringComparer.Ordinal))
        {
            using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "original.json")));
            foreach (string file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileName(file);
                if (name == "original.json" || !(name.EndsWith(".conf", StringComparison.Ordinal) || name.EndsWith(".json", StringComparison.Ordinal)))
                {
                    continue;
                }

                total++;
                string ours = Same(expected.RootElement, Ours(file)) ? "same" : "DIFF";
                string akka;
                try
                {
                    Config config = ConfigurationFactory.ParseString(File.ReadAllText(file));
                    akka = Same(expected.RootElement, Akka(config.Root)) ? "same" : "different tree";
                }
                catch (Exception e)
                {
                    akka = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
                }

                passed += akka == "same" ? 1 : 0;
                Console.WriteLine($"{Path.GetFileName(folder) + "/" + name,-40} {ours,-6} {akka}");
            }
        }

        Console.WriteLine($"Akka's parser reads {passed} of {total} equivalence files to the reference tree.");
        string akkaReference = File.ReadAllText(Path.Combine(data, "akka-reference-test04.conf"));
        var settings = new HoconLoadSettings { EnvironmentVariables = _ => null };
        Time("akka-reference-test04.conf, ours", () => HoconConfig.Parse(akkaReference, "test04", settings));
        Time("akka-reference-test04.conf, Akka's", () => ConfigurationFactory.ParseString(akkaReference));
        string[] layers = [Path.Combine(Root(), "hocon", "reference.conf"), Path.Combine(Root(), "hocon", "local.conf")];
        Time("hocon/reference.conf + local.conf, ours", () => HoconConfig.LoadFiles(layers, settings));
        return 0;
    }

    private static JsonElement Ours(string file)
    {
        HoconConfig config = HoconConfig.ParseFile(file, new HoconLoadSettings { EnvironmentVariables = _ => null });
        return JsonDocument.Parse(config.ToJson(indented: false)).RootElement;
    }

    /// <summary>Akka's tree as JSON; Akka keeps every scalar as text, so scalars compare as text.</summary>
    private static JsonElement Akka(AkkaHoconValue root)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, root);
        }

        return JsonDocument.Parse(buffer.ToArray()).RootElement;
    }

    private static void Write(Utf8JsonWriter writer, AkkaHoconValue value)
    {
        if (value.IsObject())
        {
            writer.WriteStartObject();
            foreach (var (key, child) in value.GetObject().Items)
            {
                writer.WritePropertyName(key);
                Write(writer, child);
            }

            writer.WriteEndObject();
        }
        else if (value.IsArray())
        {
            writer.WriteStartArray();
            foreach (AkkaHoconValue item in value.GetArray())
            {
                Write(writer, item);
            }

            writer.WriteEndArray();
        }
        else if (value.GetString() is { } text)
        {
            writer.WriteStringValue(text);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    private static bool Same(JsonElement expected, JsonElement actual) => expected.ValueKind switch
    {
        JsonValueKind.Object => actual.ValueKind == JsonValueKind.Object
            && expected.EnumerateObject().Count() == actual.EnumerateObject().Count()
            && expected.EnumerateObject().All(p => actual.TryGetProperty(p.Name, out JsonElement a) && Same(p.Value, a)),
        JsonValueKind.Array => actual.ValueKind == JsonValueKind.Array
            && expected.GetArrayLength() == actual.GetArrayLength()
            && expected.EnumerateArray().Zip(actual.EnumerateArray()).All(p => Same(p.First, p.Second)),
        JsonValueKind.Null => actual.ValueKind == JsonValueKind.Null,
        _ => Scalar(expected) == Scalar(actual),
    };

    private static string? Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => e.GetRawText(),
        _ => null,
    };

    private static void Time(string what, Action parse)
    {
        for (int i = 0; i < 20; i++)
        {
            parse();
        }

        var samples = new double[201];
        for (int i = 0; i < samples.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            parse();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(samples);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: median {samples[100]:F3} ms per parse ({samples.Length} parses)"));
    }

    private static string Root()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Basis.Actors.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Basis.Actors.sln above {AppContext.BaseDirectory}");
    }
}
