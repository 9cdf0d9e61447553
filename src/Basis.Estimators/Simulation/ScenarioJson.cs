using System.Text.Json;

namespace Basis.Estimators.Simulation;

/// <summary>A scenario file is wrong; <see cref="Field"/> names the JSON field (e.g. "improvement.mean_rate").</summary>
public sealed class ScenarioFormatException(string field, string message) : FormatException($"{field}: {message}")
{
    public string Field { get; } = field;
}

/// <summary>Reads scenario JSON. Every field is optional; unknown fields are errors so typos do not pass silently.</summary>
public static class ScenarioJson
{
    private static readonly string[] s_topFields = ["prompts", "batch_size", "offline_samples", "checkpoints", "seeds", "difficulty", "improvement"];

    /// <exception cref="ScenarioFormatException">Malformed JSON or a bad field (named in the exception).</exception>
    public static Scenario Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ScenarioFormatException("(document)", $"not valid JSON (line {e.LineNumber + 1}): {e.Message}");
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ScenarioFormatException("(document)", "a scenario is a JSON object.");
            }

            RejectUnknown(root, s_topFields, "");
            Scenario d = Scenario.Default;
            var scenario = new Scenario
            {
                Prompts = Int(root, "prompts", d.Prompts),
                BatchSize = Int(root, "batch_size", d.BatchSize),
                OfflineSamples = Int(root, "offline_samples", d.OfflineSamples),
                Checkpoints = root.TryGetProperty("checkpoints", out JsonElement cp) ? Checkpoints(cp) : d.Checkpoints,
                Seeds = root.TryGetProperty("seeds", out JsonElement seeds) ? Seeds(seeds) : d.Seeds,
                Difficulty = root.TryGetProperty("difficulty", out JsonElement diff) ? Difficulty(diff) : d.Difficulty,
                Improvement = root.TryGetProperty("improvement", out JsonElement imp) ? Improvement(imp) : d.Improvement,
            };
            ScenarioValidation.Validate(scenario);
            return scenario;
        }
    }

    /// <summary>The scenario as JSON in the same shape <see cref="Parse"/> reads.</summary>
    public static void Write(Utf8JsonWriter writer, Scenario scenario)
    {
        writer.WriteStartObject();
        writer.WriteNumber("prompts", scenario.Prompts);
        writer.WriteNumber("batch_size", scenario.BatchSize);
        writer.WriteNumber("offline_samples", scenario.OfflineSamples);
        writer.WriteStartArray("checkpoints");
        foreach (long c in scenario.Checkpoints)
        {
            writer.WriteNumberValue(c);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("seeds");
        foreach (int s in scenario.Seeds)
        {
            writer.WriteNumberValue(s);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("difficulty");
        foreach (DifficultyComponent c in scenario.Difficulty)
        {
            writer.WriteStartObject();
            writer.WriteNumber("weight", c.Weight);
            writer.WriteNumber("alpha", c.Alpha);
            writer.WriteNumber("beta", c.Beta);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartObject("improvement");
        switch (scenario.Improvement)
        {
            case LogitShiftImprovement s:
                writer.WriteString("kind", "logit-shift");
                writer.WriteNumber("mean_rate", s.MeanRate);
                writer.WriteNumber("rate_spread", s.RateSpread);
                writer.WriteNumber("noise", s.Noise);
                break;
            case TiltImprovement t:
                writer.WriteString("kind", "tilt");
                writer.WriteNumber("beta_start", t.BetaStart);
                writer.WriteNumber("beta_end", t.BetaEnd);
                writer.WriteNumber("tau", t.Tau);
                break;
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void RejectUnknown(JsonElement element, string[] known, string prefix)
    {
        foreach (JsonProperty property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                throw new ScenarioFormatException(prefix + property.Name, $"unknown field; expected one of {string.Join(", ", known)}.");
            }
        }
    }

    private static int Int(JsonElement parent, string name, int fallback, string prefix = "")
    {
        if (!parent.TryGetProperty(name, out JsonElement e))
        {
            return fallback;
        }

        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int value))
        {
            throw new ScenarioFormatException(prefix + name, $"must be an integer, got {Describe(e)}.");
        }

        return value;
    }

    private static double Number(JsonElement parent, string name, double fallback, string prefix)
    {
        if (!parent.TryGetProperty(name, out JsonElement e))
        {
            return fallback;
        }

        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double value) || !double.IsFinite(value))
        {
            throw new ScenarioFormatException(prefix + name, $"must be a finite number, got {Describe(e)}.");
        }

        return value;
    }

    private static long[] Checkpoints(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw new ScenarioFormatException("checkpoints", $"must be a list of steps, got {Describe(e)}.");
        }

        var steps = new List<long>();
        int i = 0;
        foreach (JsonElement item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long step) || step < 0)
            {
                throw new ScenarioFormatException($"checkpoints[{i}]", $"must be a non-negative integer step, got {Describe(item)}.");
            }

            steps.Add(step);
            i++;
        }

        return [.. steps];
    }

    private static int[] Seeds(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (!e.TryGetInt32(out int count) || count < 1)
            {
                throw new ScenarioFormatException("seeds", "a seed count must be a positive integer.");
            }

            return Enumerable.Range(1, count).ToArray();
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            throw new ScenarioFormatException("seeds", $"must be a count or a list of non-negative integers, got {Describe(e)}.");
        }

        var seeds = new List<int>();
        int i = 0;
        foreach (JsonElement item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int seed) || seed < 0)
            {
                throw new ScenarioFormatException($"seeds[{i}]", $"must be a non-negative integer, got {Describe(item)}.");
            }

            seeds.Add(seed);
            i++;
        }

        return [.. seeds];
    }

    private static DifficultyComponent[] Difficulty(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw new ScenarioFormatException("difficulty", $"must be a list of {{weight, alpha, beta}}, got {Describe(e)}.");
        }

        var components = new List<DifficultyComponent>();
        int i = 0;
        foreach (JsonElement item in e.EnumerateArray())
        {
            string prefix = $"difficulty[{i}].";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new ScenarioFormatException($"difficulty[{i}]", $"must be an object {{weight, alpha, beta}}, got {Describe(item)}.");
            }

            RejectUnknown(item, ["weight", "alpha", "beta"], prefix);
            foreach (string required in new[] { "weight", "alpha", "beta" })
            {
                if (!item.TryGetProperty(required, out _))
                {
                    throw new ScenarioFormatException(prefix + required, "is required.");
                }
            }

            components.Add(new DifficultyComponent(Number(item, "weight", 0, prefix), Number(item, "alpha", 0, prefix), Number(item, "beta", 0, prefix)));
            i++;
        }

        return [.. components];
    }

    private static ImprovementModel Improvement(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new ScenarioFormatException("improvement", $"must be an object, got {Describe(e)}.");
        }

        string kind = e.TryGetProperty("kind", out JsonElement k) && k.ValueKind == JsonValueKind.String
            ? k.GetString()!
            : throw new ScenarioFormatException("improvement.kind", "must be \"logit-shift\" or \"tilt\".");
        const string prefix = "improvement.";
        switch (kind)
        {
            case "logit-shift":
            {
                RejectUnknown(e, ["kind", "mean_rate", "rate_spread", "noise"], prefix);
                var d = new LogitShiftImprovement();
                return new LogitShiftImprovement(
                    Number(e, "mean_rate", d.MeanRate, prefix), Number(e, "rate_spread", d.RateSpread, prefix), Number(e, "noise", d.Noise, prefix));
            }

            case "tilt":
            {
                RejectUnknown(e, ["kind", "beta_start", "beta_end", "tau"], prefix);
                var d = new TiltImprovement();
                return new TiltImprovement(
                    Number(e, "beta_start", d.BetaStart, prefix), Number(e, "beta_end", d.BetaEnd, prefix), Number(e, "tau", d.Tau, prefix));
            }

            default:
                throw new ScenarioFormatException("improvement.kind", $"unknown kind \"{kind}\"; expected \"logit-shift\" or \"tilt\".");
        }
    }

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => $"\"{e.GetString()}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => e.GetRawText(),
    };
}

/// <summary>Range checks shared by the parser and programmatic scenarios.</summary>
public static class ScenarioValidation
{
    /// <exception cref="ScenarioFormatException">A field is out of range.</exception>
    public static void Validate(Scenario s)
    {
        Require(s.Prompts >= 1, "prompts", "must be at least 1.");
        Require(s.BatchSize >= 1 && s.BatchSize <= s.Prompts, "batch_size", $"must lie in [1, prompts = {s.Prompts}].");
        Require(s.OfflineSamples >= 1 && s.OfflineSamples <= 100_000, "offline_samples", "must lie in [1, 100000].");
        Require(s.Checkpoints.Count > 0, "checkpoints", "needs at least one step.");
        Require(s.Checkpoints.All(c => c >= 0 && c <= 1_000_000), "checkpoints", "steps must lie in [0, 1000000].");
        Require(s.Seeds.Count > 0, "seeds", "needs at least one seed.");
        Require(s.Difficulty.Count > 0, "difficulty", "needs at least one component.");
        for (int i = 0; i < s.Difficulty.Count; i++)
        {
            DifficultyComponent c = s.Difficulty[i];
            Require(c.Weight > 0, $"difficulty[{i}].weight", "must be positive.");
            Require(c.Alpha > 0, $"difficulty[{i}].alpha", "must be positive.");
            Require(c.Beta > 0, $"difficulty[{i}].beta", "must be positive.");
        }

        switch (s.Improvement)
        {
            case LogitShiftImprovement l:
                Require(double.IsFinite(l.MeanRate), "improvement.mean_rate", "must be finite.");
                Require(l.RateSpread >= 0, "improvement.rate_spread", "must be non-negative.");
                Require(l.Noise >= 0, "improvement.noise", "must be non-negative.");
                break;
            case TiltImprovement t:
                Require(t.BetaStart > 0, "improvement.beta_start", "must be positive.");
                Require(t.BetaEnd > 0, "improvement.beta_end", "must be positive.");
                Require(t.Tau > 0, "improvement.tau", "must be positive.");
                break;
            default:
                throw new ScenarioFormatException("improvement", "is missing.");
        }
    }

    private static void Require(bool condition, string field, string message)
    {
        if (!condition)
        {
            throw new ScenarioFormatException(field, message);
        }
    }
}
