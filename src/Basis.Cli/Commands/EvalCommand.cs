using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Basis.Cli.Evaluation;
using Basis.Hocon;
using Basis.Hocon.Configuration;
using Basis.Model.Checkpoints;
using Basis.Rollouts;

namespace Basis.Cli.Commands;

/// <summary><c>basis eval</c>: pass@1 and pass@k of a served model or the built-in policy on a prompt set.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var policy = new PolicyOptions(
            "auto",
            "openai (a served model on --dataset) or builtin (--checkpoint on the synthetic held-out split, or on --dataset); auto picks builtin when --checkpoint is given.");
        var samplesOption = new Option<int>("--samples") { Description = "n: completions sampled per prompt.", DefaultValueFactory = _ => 8 };
        var kOption = new Option<string>("--k") { Description = "Comma-separated k values for pass@k (each at most --samples).", DefaultValueFactory = _ => "1,8" };
        var jsonOption = new Option<FileInfo?>("--json") { Description = "Write the figures to this JSON file." };
        var command = new Command(
            "eval",
            "Accuracy of a policy on a prompt set: pass@1 and pass@k (the unbiased estimator from --samples completions per prompt), "
            + "through an OpenAI-compatible server (vLLM, SGLang) or the built-in policy. Exit code 2 on bad options, 1 when the backend fails.");
        policy.AddTo(command);
        command.Options.Add(samplesOption);
        command.Options.Add(kOption);
        command.Options.Add(jsonOption);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            int samples = parseResult.GetValue(samplesOption);
            FileInfo? json = parseResult.GetValue(jsonOption);
            PolicySource source;
            int[] ks;
            try
            {
                PolicyOptions.Values values = policy.Read(parseResult);
                if (values.Backend == "auto")
                {
                    values = values with { Backend = values.Checkpoint is null ? "openai" : "builtin" };
                }

                ks = ParseK(parseResult.GetValue(kOption)!, samples);
                source = PolicySource.Open(values);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or HoconException or HoconOptionsException or FileNotFoundException or CheckpointFormatException or IOException)
            {
                error.WriteLine($"basis eval: {e.Message}");
                return 2;
            }

            using (source)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"evaluating {source.Description}: {samples} samples per prompt, temperature {source.Sampling.Temperature}, max {source.Sampling.MaxTokens} tokens"));
                var progress = new ProgressLines(output, ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected);
                var clock = Stopwatch.StartNew();
                double[][] rewards;
                try
                {
                    rewards = await source.CreateSampler().SampleAsync(
                        source.Prompts, samples, parseResult.GetValue(policy.Seed), done => progress.Report("sampled", done, source.Prompts.Count), cancellationToken);
                }
                catch (Exception e) when (e is RolloutBackendException or ArgumentException)
                {
                    error.WriteLine($"basis eval: {e.Message}");
                    return e is ArgumentException ? 2 : 1;
                }

                var result = EvalResult.From(source, rewards, ks, clock.Elapsed.TotalSeconds);
                result.Write(output);
                if (json is not null)
                {
                    try
                    {
                        await File.WriteAllTextAsync(json.FullName, result.ToJson(), cancellationToken);
                        output.WriteLine($"JSON written to {json.FullName}");
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        error.WriteLine($"basis eval: cannot write {json.FullName}: {e.Message}");
                        return 1;
                    }
                }

                return 0;
            }
        });
        return command;
    }

    private static int[] ParseK(string text, int samples)
    {
        if (samples < 1)
        {
            throw new ArgumentException($"--samples must be at least 1 (got {samples}).");
        }

        var ks = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k < 1 || k > samples)
            {
                throw new ArgumentException($"--k: '{part}' must be a whole number from 1 to --samples ({samples}).");
            }

            ks.Add(k);
        }

        return ks.Count > 0 ? [.. ks.Distinct().Order()] : throw new ArgumentException("--k names no value.");
    }

    /// <summary>pass@k over all prompts and pass@1 per difficulty tag.</summary>
    private sealed record EvalResult(
        string Source, string Backend, int Prompts, int Samples, double Temperature, int MaxTokens, double Seconds,
        IReadOnlyList<(int K, double Mean, double StandardError)> PassAt,
        IReadOnlyList<(string Difficulty, int Prompts, double PassAt1)> ByDifficulty)
    {
        public static EvalResult From(PolicySource source, double[][] rewards, int[] ks, double seconds)
        {
            int samples = rewards.Length == 0 ? 0 : rewards[0].Length;
            int[] correct = rewards.Select(r => r.Count(x => x >= 0.5)).ToArray();
            var passAt = ks.Select(k =>
            {
                (double mean, double se) = PassAtK.Mean(correct.Select(c => PassAtK.Estimate(samples, c, k)).ToArray());
                return (k, mean, se);
            }).ToArray();
            var byDifficulty = source.Prompts
                .Select((p, i) => (p.Difficulty, Pass: (double)correct[i] / samples))
                .GroupBy(x => x.Difficulty)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => (g.Key, g.Count(), g.Average(x => x.Pass)))
                .ToArray();
            return new EvalResult(source.Description, source.Backend.Name, rewards.Length, samples, source.Sampling.Temperature, source.Sampling.MaxTokens, seconds, passAt, byDifficulty);
        }

        public void Write(TextWriter output)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Prompts} prompts x {Samples} samples in {Seconds:0.0} s ({Prompts * Samples / Math.Max(Seconds, 1e-9):0} completions/s)"));
            foreach ((int k, double mean, double se) in PassAt)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  pass@{k} = {mean:0.0000} (standard error {se:0.0000})"));
            }

            if (ByDifficulty.Count > 1)
            {
                foreach ((string difficulty, int prompts, double pass) in ByDifficulty)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  pass@1 {difficulty,-20} {pass:0.0000} ({prompts} prompts)"));
                }
            }
        }

        public string ToJson()
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartObject();
                writer.WriteString("source", Source);
                writer.WriteString("backend", Backend);
                writer.WriteNumber("prompts", Prompts);
                writer.WriteNumber("samples_per_prompt", Samples);
                writer.WriteNumber("temperature", Temperature);
                writer.WriteNumber("max_tokens", MaxTokens);
                writer.WriteNumber("seconds", Math.Round(Seconds, 3));
                writer.WriteStartObject("pass_at_k");
                foreach ((int k, double mean, double se) in PassAt)
                {
                    writer.WriteStartObject(k.ToString(CultureInfo.InvariantCulture));
                    writer.WriteNumber("value", mean);
                    if (double.IsFinite(se))
                    {
                        writer.WriteNumber("standard_error", se);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
                writer.WriteStartObject("pass_at_1_by_difficulty");
                foreach ((string difficulty, int prompts, double pass) in ByDifficulty)
                {
                    writer.WriteStartObject(difficulty);
                    writer.WriteNumber("prompts", prompts);
                    writer.WriteNumber("value", pass);
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(stream.ToArray());
        }
    }
}
