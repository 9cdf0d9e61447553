using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Basis.Cli.Evaluation;
using Basis.Estimators;
using Basis.Estimators.Simulation;
using Spectre.Console;

namespace Basis.Cli.Commands;

/// <summary>`basis mse-bench`: the value-MSE benchmark on a synthetic population with known true values.</summary>
internal static class MseBenchCommand
{
    public static Command Create()
    {
        var scenarioOption = new Option<FileInfo?>("--scenario")
        {
            Description = "Scenario JSON (fields: prompts, batch_size, offline_samples, checkpoints, seeds, difficulty, improvement). Default: the built-in default scenario.",
        };
        var jsonOption = new Option<FileInfo?>("--json") { Description = "Write scenario, per-checkpoint results and ratios to this JSON file." };
        var plotOption = new Option<FileInfo?>("--plot") { Description = "Write an SVG plot of MSE per estimator per checkpoint (log scale)." };
        var policy = new PolicyOptions(
            "simulated",
            "simulated (known true values), openai (a served model on --dataset) or builtin (--checkpoint on the synthetic held-out split or --dataset).");
        var runOption = new Option<DirectoryInfo?>("--run") { Description = "A basis train run folder: the protocol at --checkpoints of that run, each estimator in the run's state at the checkpoint." };
        var checkpointsOption = new Option<string?>("--checkpoints") { Description = "With --run: learner steps whose checkpoints to measure (0 = the SFT warm start). Default: 50,400,800." };
        var mcOption = new Option<int>("--mc") { Description = "M: Monte-Carlo rollouts per prompt that define its value.", DefaultValueFactory = _ => 32 };
        var batchOption = new Option<int?>("--batch-size") { Description = "B: prompts per BASIS batch (default 64; with --run the run's batch size)." };
        var batchesOption = new Option<int>("--batches") { Description = "With --run: evaluation batches per checkpoint (the run's next batches after it).", DefaultValueFactory = _ => 8 };
        var offlineOption = new Option<int>("--offline-samples") { Description = "N: extra rollouts per prompt that form BASIS's offline table (not with --run, which uses the run's table).", DefaultValueFactory = _ => 8 };
        var estimatorsOption = new Option<string?>("--estimators") { Description = $"Comma-separated rows to measure on a real policy; known: {string.Join(",", PolicyValueMse.KnownRows)}." };
        var command = new Command(
            "mse-bench",
            "Value-MSE benchmark: BASIS and the other estimators against known true values on a simulated training run (default), "
            + "or against Monte-Carlo values on a real policy: a served model (--backend openai), the built-in policy (--backend builtin) "
            + "or the checkpoints of a training run (--run).");
        command.Options.Add(scenarioOption);
        command.Options.Add(jsonOption);
        command.Options.Add(plotOption);
        policy.AddTo(command);
        command.Options.Add(runOption);
        command.Options.Add(checkpointsOption);
        command.Options.Add(mcOption);
        command.Options.Add(batchOption);
        command.Options.Add(batchesOption);
        command.Options.Add(offlineOption);
        command.Options.Add(estimatorsOption);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            DirectoryInfo? run = parseResult.GetValue(runOption);
            PolicyOptions.Values values;
            try
            {
                values = policy.Read(parseResult);
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"basis mse-bench: {e.Message}");
                return 2;
            }

            if (run is null && values.Backend == "simulated")
            {
                // Redirected output has no terminal width; keep the table on one line per estimator.
                if (Console.IsOutputRedirected)
                {
                    AnsiConsole.Profile.Width = 200;
                }

                return Run(parseResult.GetValue(scenarioOption), parseResult.GetValue(jsonOption), parseResult.GetValue(plotOption), AnsiConsole.Console);
            }

            var real = new RealPolicyBench(
                values,
                run,
                parseResult.GetValue(checkpointsOption),
                parseResult.GetValue(mcOption),
                parseResult.GetValue(batchOption),
                parseResult.GetValue(batchesOption),
                parseResult.GetValue(offlineOption),
                parseResult.GetValue(estimatorsOption),
                parseResult.GetValue(jsonOption));
            return await real.RunAsync(output, error, ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected, cancellationToken);
        });
        return command;
    }

    internal static int Run(FileInfo? scenarioFile, FileInfo? jsonFile, FileInfo? plotFile, IAnsiConsole console)
    {
        Scenario scenario;
        try
        {
            scenario = scenarioFile is null ? Scenario.Default : ScenarioJson.Parse(File.ReadAllText(scenarioFile.FullName));
        }
        catch (ScenarioFormatException e)
        {
            Console.Error.WriteLine($"basis mse-bench: {scenarioFile?.FullName}: field {e.Field}: {e.Message[(e.Field.Length + 2)..]}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"basis mse-bench: cannot read scenario {scenarioFile?.FullName}: {e.Message}");
            return 2;
        }

        BenchmarkReport report = RunWithProgress(scenario, console);
        WriteTable(report, console);
        try
        {
            if (jsonFile is not null)
            {
                File.WriteAllText(jsonFile.FullName, ToJson(report));
                console.MarkupLineInterpolated($"JSON written to {jsonFile.FullName}");
            }

            if (plotFile is not null)
            {
                File.WriteAllText(plotFile.FullName, MseBenchPlot.Svg(report));
                console.MarkupLineInterpolated($"Plot written to {plotFile.FullName}");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"basis mse-bench: cannot write output: {e.Message}");
            return 1;
        }

        return 0;
    }

    private static BenchmarkReport RunWithProgress(Scenario scenario, IAnsiConsole console)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            return ValueMseBenchmark.Run(scenario);
        }

        BenchmarkReport? report = null;
        console.Progress().Start(context =>
        {
            ProgressTask task = context.AddTask("simulating seeds", maxValue: scenario.Seeds.Count);
            report = ValueMseBenchmark.Run(scenario, (done, _) => task.Value = done);
        });
        return report!;
    }

    private static void WriteTable(BenchmarkReport report, IAnsiConsole console)
    {
        var checkpoints = report.Results.Select(r => r.Checkpoint).Distinct().Order().ToArray();
        var table = new Table().Title($"Value MSE over {report.Scenario.Seeds.Count} seeds (mean ± 95% CI half-width)");
        table.AddColumn("estimator");
        table.AddColumn(new TableColumn("G").RightAligned());
        foreach (long c in checkpoints)
        {
            table.AddColumn(new TableColumn($"step {c}").RightAligned());
        }

        table.AddColumn(new TableColumn("/reinforce++").RightAligned());
        table.AddColumn(new TableColumn("/group-mean-8").RightAligned());
        Dictionary<long, double> reference = MeansOf(report, ValueMseBenchmark.Reference);
        Dictionary<long, double> groupMean8 = MeansOf(report, ValueMseBenchmark.GroupMean8);
        foreach (IGrouping<string, CheckpointResult> row in report.Results.GroupBy(r => r.Label))
        {
            var cells = new List<string> { row.Key, row.First().RolloutsPerPrompt.ToString(CultureInfo.InvariantCulture) };
            cells.AddRange(row.Select(r => $"{F(r.Mse.Mean)}\n±{F((r.Mse.High - r.Mse.Low) / 2)}"));
            cells.Add(F2(row.Average(r => r.Mse.Mean / reference[r.Checkpoint])));
            cells.Add(F2(row.Average(r => r.Mse.Mean / groupMean8[r.Checkpoint])));
            table.AddRow(cells.Select(c => new Text(c)));
        }

        console.Write(table);
        console.MarkupLine("Ratio columns: mean over checkpoints of the ratio of mean MSEs.");
        foreach (RatioSummary ratio in report.Ratios)
        {
            string perCheckpoint = string.Join(", ", ratio.PerCheckpoint.Select(p => $"{p.Checkpoint}: {F2(p.Ratio.Mean)} [{F2(p.Ratio.Low)}, {F2(p.Ratio.High)}]"));
            console.MarkupLineInterpolated($"{ratio.Name}: mean {F2(ratio.Mean)}, max {F2(ratio.Max)}  ({perCheckpoint})");
        }

        console.MarkupLineInterpolated($"basis settings: {report.BasisSettings}");
    }

    private static Dictionary<long, double> MeansOf(BenchmarkReport report, string label) =>
        report.Results.Where(r => r.Label == label).ToDictionary(r => r.Checkpoint, r => r.Mse.Mean);

    private static string F(double value) => value.ToString("0.00000", CultureInfo.InvariantCulture);

    private static string F2(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);

    internal static string ToJson(BenchmarkReport report)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("scenario");
            ScenarioJson.Write(writer, report.Scenario);
            writer.WriteStartArray("results");
            foreach (CheckpointResult r in report.Results)
            {
                writer.WriteStartObject();
                writer.WriteString("estimator", r.Estimator);
                writer.WriteNumber("rollouts_per_prompt", r.RolloutsPerPrompt);
                writer.WriteNumber("checkpoint", r.Checkpoint);
                writer.WriteNumber("mse", r.Mse.Mean);
                writer.WriteStartArray("ci95");
                WriteNumberOrNull(writer, r.Mse.Low);
                WriteNumberOrNull(writer, r.Mse.High);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartObject("ratios");
            foreach (RatioSummary ratio in report.Ratios)
            {
                writer.WriteStartObject(ratio.Name);
                writer.WriteNumber("mean", ratio.Mean);
                writer.WriteNumber("max", ratio.Max);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteString("basis_settings", report.BasisSettings);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteNumberOrNull(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary>Hand-written SVG: MSE per estimator per checkpoint, log-scale y axis, legend.</summary>
internal static class MseBenchPlot
{
    private const int Width = 900;
    private const int Height = 520;
    private const int Left = 70;
    private const int Right = 200;
    private const int Top = 30;
    private const int Bottom = 50;

    private static readonly string[] s_colors =
    [
        "#d62728", "#ff9896", "#9467bd", "#8c564b", "#1f77b4", "#7f7f7f", "#bcbd22", "#17becf", "#2ca02c", "#e377c2", "#aec7e8", "#98df8a",
    ];

    public static string Svg(BenchmarkReport report)
    {
        var series = report.Results.GroupBy(r => r.Label).ToArray();
        var checkpoints = report.Results.Select(r => r.Checkpoint).Distinct().Order().ToArray();
        var positive = report.Results.Select(r => r.Mse.Mean).Where(m => m > 0).ToArray();
        double lo = Math.Floor(Math.Log10(positive.Length > 0 ? positive.Min() : 1e-3));
        double hi = Math.Ceiling(Math.Log10(positive.Length > 0 ? positive.Max() : 1));
        if (hi <= lo)
        {
            hi = lo + 1;
        }

        double plotWidth = Width - Left - Right;
        double plotHeight = Height - Top - Bottom;
        double X(int index) => Left + (checkpoints.Length == 1 ? plotWidth / 2 : plotWidth * index / (checkpoints.Length - 1));
        double Y(double mse) => Top + plotHeight * (hi - Math.Log10(Math.Max(mse, Math.Pow(10, lo)))) / (hi - lo);

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"18\" font-size=\"14\">Value MSE per checkpoint (log scale)</text>\n");
        for (double decade = lo; decade <= hi; decade++)
        {
            double y = Y(Math.Pow(10, decade));
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{y:0.#}\" x2=\"{Width - Right}\" y2=\"{y:0.#}\" stroke=\"#ddd\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 8}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">1e{decade:0}</text>\n");
        }

        for (int c = 0; c < checkpoints.Length; c++)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(c):0.#}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{checkpoints[c]}</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + plotWidth / 2:0.#}\" y=\"{Height - 12}\" text-anchor=\"middle\">training step</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"none\" stroke=\"#333\"/>\n");
        for (int s = 0; s < series.Length; s++)
        {
            string color = s_colors[s % s_colors.Length];
            var points = series[s].OrderBy(r => r.Checkpoint)
                .Select(r => $"{X(Array.IndexOf(checkpoints, r.Checkpoint)).ToString("0.#", CultureInfo.InvariantCulture)},{Y(r.Mse.Mean).ToString("0.#", CultureInfo.InvariantCulture)}");
            string width = series[s].Key.StartsWith("basis", StringComparison.Ordinal) ? "3" : "1.5";
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\" points=\"{string.Join(' ', points)}\"/>\n");
            double legendY = Top + 10 + s * 18;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Width - Right + 15}\" y1=\"{legendY}\" x2=\"{Width - Right + 40}\" y2=\"{legendY}\" stroke=\"{color}\" stroke-width=\"{width}\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right + 46}\" y=\"{legendY + 4}\">{System.Security.SecurityElement.Escape(series[s].Key)}</text>\n");
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
