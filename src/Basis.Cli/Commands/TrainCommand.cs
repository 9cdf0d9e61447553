using System.CommandLine;
using System.Globalization;
using Basis.Cluster.Hosting;
using Basis.Hocon;
using Basis.Hocon.Configuration;
using Basis.Model.Checkpoints;
using Basis.Model.Training;
using Basis.Training.Run;
using Microsoft.Extensions.Configuration;
using Spectre.Console;

namespace Basis.Cli.Commands;

/// <summary><c>basis train</c>: SFT warm start, offline table, then one-rollout BASIS RL through the actor graph.</summary>
internal static class TrainCommand
{
    public const string DefaultConfig = "hocon/local.conf";

    public static Command Create()
    {
        var configOption = new Option<string[]>("--config")
        {
            Description = $"HOCON file layered on hocon/reference.conf (repeatable; later files win). Default: {DefaultConfig}.",
            DefaultValueFactory = _ => [],
        };
        var runDirOption = new Option<string?>("--run-dir")
        {
            Description = "Run folder for the SFT cache, offline table, checkpoints, metrics.csv, plots and summary.json. Default: basis.run.run-dir.",
        };
        var resumeOption = new Option<string?>("--resume")
        {
            Description = "Continue the run in this folder from its last snapshot and the journal's later events, exactly once (docs/persistence.md). "
                + "Reads the folder's config.json (written when the run started) unless --config is given.",
            HelpName = "RUN",
        };
        var backendOption = new Option<string?>("--backend")
        {
            Description = "What computes the policy: builtin (managed C#) or torchsharp (libtorch; needs GLIBCXX_3.4.32, docs/model-backends.md). Overrides basis.model.backend.",
        };
        backendOption.AcceptOnlyFromAmong("builtin", "torchsharp");
        var command = new Command(
            "train",
            "Train the built-in policy on the synthetic arithmetic task: SFT warm start (cached in the run folder), the offline value table "
            + "(cached), then RL with the configured advantage estimator (BASIS by default: one rollout per prompt) through the Akka.Streams actor graph. "
            + "Shows live progress; Ctrl-C stops cleanly after saving a checkpoint (exit code 130). Exit code 1 on a configuration or run error.");
        command.Options.Add(configOption);
        command.Options.Add(runDirOption);
        command.Options.Add(resumeOption);
        command.Options.Add(backendOption);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            string? resumeDir = parseResult.GetValue(resumeOption);
            if (resumeDir is not null && !Directory.Exists(resumeDir))
            {
                error.WriteLine($"basis train: --resume {resumeDir}: no such run folder.");
                return 1;
            }

            string savedConfig = Path.Combine(resumeDir ?? string.Empty, RunConfigFile.FileName);
            string[] files = parseResult.GetValue(configOption) is { Length: > 0 } given ? given
                : resumeDir is not null && File.Exists(savedConfig) ? [savedConfig]
                : [DefaultConfig];
            TrainSettings settings;
            LearnerNode? fleet;
            try
            {
                settings = TrainSettingsLoader.Load(files);
                // In a cluster the learner node's ActorSystem is the run's only one: it carries the journal's plugins too.
                string journalFolder = resumeDir ?? parseResult.GetValue(runDirOption) ?? settings.Run.RunDir;
                Akka.Configuration.Config journal = Basis.Training.Journal.JournalConfig.For(
                    Basis.Training.Journal.JournalTarget.From(settings.Journal.Provider, settings.Journal.ConnectionString, journalFolder), settings.Journal.Tuning);
                fleet = LearnerNode.FromConfig(files, settings.Graph.ChunkSize, output, journal);
            }
            catch (Exception e) when (e is HoconException or HoconOptionsException or ArgumentException or FileNotFoundException)
            {
                error.WriteLine($"basis train: {e.Message}");
                return 1;
            }

            if (parseResult.GetValue(backendOption) is string backendName)
            {
                settings.Model.Backend = backendName;
            }

            Basis.Model.IPolicyBackend backend;
            try
            {
                backend = PolicyBackends.Create(settings.Model);
            }
            catch (Basis.Model.Torch.PolicyBackendUnavailableException e)
            {
                error.WriteLine($"basis train: {e.Message}");
                return 1;
            }

            string runDir = resumeDir ?? parseResult.GetValue(runDirOption) ?? settings.Run.RunDir;
            Basis.Training.Hosting.RunLogger.Output = output;
            using OpenTelemetry.Metrics.MeterProvider? telemetry = Telemetry.OtlpMetrics.TryStart(files, error, out bool telemetryOk);
            if (!telemetryOk)
            {
                return 1;
            }

            using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                interrupt.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                bool live = settings.Run.Progress && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
                if (resumeDir is null)
                {
                    SaveResolvedConfig(files, runDir);
                }

                RunSummary summary = await TrainingConsole.RunAsync(settings, runDir, live, output, interrupt.Token, resume: resumeDir is not null, fleet: fleet?.Fleet, system: fleet?.System, backend: backend);
                PrintSummary(summary, runDir, live, output);
                return summary.Cancelled ? 130 : 0;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                error.WriteLine($"basis train: the run failed: {Describe(e)}");
                error.WriteLine($"basis train: what was written before the failure is in {Path.GetFullPath(runDir)}");
                return 1;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
                if (fleet is not null)
                {
                    await fleet.DisposeAsync();
                    Basis.Training.Journal.JournalTarget.From(settings.Journal.Provider, settings.Journal.ConnectionString, runDir).ReleasePooledConnections();
                }
            }
        });
        return command;
    }

    private static void SaveResolvedConfig(string[] files, string runDir) =>
        RunConfigFile.Save(runDir, HoconConfiguration.LoadTree(files).ToJson(indented: true));

    private static string Describe(Exception e) => e switch
    {
        CheckpointFormatException => e.Message,
        AggregateException { InnerExceptions.Count: 1 } a => Describe(a.InnerExceptions[0]),
        _ when e.InnerException is not null && e.Message.Contains(e.InnerException.Message, StringComparison.Ordinal) => e.Message,
        _ when e.InnerException is not null => $"{e.Message} ({e.InnerException.GetType().Name}: {e.InnerException.Message})",
        _ => e.Message,
    };

    private static void PrintSummary(RunSummary summary, string runDir, bool live, TextWriter output)
    {
        string stages = string.Join(", ", (summary.Stages ?? []).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Stage} {s.BusyFraction:P0}")));
        if (!live)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[summary] {summary.Estimator}: held-out accuracy {summary.StartAccuracy:P1} -> {summary.FinalAccuracy:P1} after {summary.Steps} steps, {summary.Rollouts} rollouts, {summary.TotalSeconds:F0} s (RL {summary.RlSeconds:F0} s); run folder {Path.GetFullPath(runDir)}{(summary.Cancelled ? " (interrupted)" : string.Empty)}"));
            if (stages.Length > 0)
            {
                output.WriteLine($"[summary] stage busy during RL: {stages}");
            }

            return;
        }

        var table = new Table().Title("run summary").AddColumn("").AddColumn("");
        table.AddRow("estimator", summary.Estimator);
        table.AddRow("held-out accuracy", string.Create(CultureInfo.InvariantCulture, $"{summary.StartAccuracy:P1} -> {summary.FinalAccuracy:P1} ({(summary.FinalAccuracy - summary.StartAccuracy) * 100:+0.0;-0.0} points)"));
        table.AddRow("steps / rollouts", string.Create(CultureInfo.InvariantCulture, $"{summary.Steps} / {summary.Rollouts:N0}"));
        table.AddRow("wall-clock", string.Create(CultureInfo.InvariantCulture, $"{summary.TotalSeconds:F0} s (SFT {summary.SftSteps} steps {summary.SftSeconds:F0} s, offline table {summary.OfflineTableSeconds:F0} s, RL {summary.RlSeconds:F0} s)"));
        if (stages.Length > 0)
        {
            table.AddRow("stage busy during RL", Markup.Escape(stages));
        }

        table.AddRow("run folder", Markup.Escape(Path.GetFullPath(runDir)));
        if (summary.Cancelled)
        {
            table.AddRow("status", "interrupted: checkpoint saved");
        }

        AnsiConsole.Write(table);
    }
}

/// <summary>Loads and validates every section <c>basis train</c> reads.</summary>
internal static class TrainSettingsLoader
{
    public static TrainSettings Load(IEnumerable<string> files)
    {
        foreach (string file in files)
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"configuration file '{file}' does not exist.", file);
            }
        }

        IConfigurationRoot configuration = HoconConfiguration.Load(files);
        return new TrainSettings(
            HoconOptions.BindAndValidate<RunSettings>(configuration, "basis:run"),
            HoconOptions.BindAndValidate<ModelSettings>(configuration, "basis:model"),
            HoconOptions.BindAndValidate<SftSettings>(configuration, "basis:sft"),
            HoconOptions.BindAndValidate<TaskSettings>(configuration, "basis:task"),
            HoconOptions.BindAndValidate<OfflineTableSettings>(configuration, "basis:offline-table"),
            HoconOptions.BindAndValidate<EstimatorSettings>(configuration, "basis:estimator"),
            HoconOptions.BindAndValidate<TrainLoopSettings>(configuration, "basis:train"),
            HoconOptions.BindAndValidate<GraphSettings>(configuration, "basis:graph"),
            HoconOptions.BindAndValidate<JournalSettings>(configuration, "basis:journal"))
        {
            Chaos = HoconOptions.BindAndValidate<Basis.Training.Chaos.ChaosSettings>(configuration, "basis:chaos"),
            Akka = HoconConfiguration.TreeOf(configuration) is { } tree ? HoconConfiguration.AkkaSection(tree) : null,
        };
    }
}

/// <summary>Runs a training run under a live Spectre.Console display (plain lines when output is redirected).</summary>
internal static class TrainingConsole
{
    public static async Task<RunSummary> RunAsync(TrainSettings settings, string runDir, bool live, TextWriter output, CancellationToken cancellationToken, bool resume = false, Basis.Training.Policy.IRolloutFleet? fleet = null, Akka.Actor.ActorSystem? system = null, Basis.Model.IPolicyBackend? backend = null)
    {
        backend ??= Basis.Model.BuiltinPolicyBackend.Instance;
        // queues.csv (per-stage queue depths each step) feeds the dashboard's queue chart.
        TrainingRun? run = null;
        IReadOnlyList<Basis.Training.Graph.Monitoring.StageMetricsSnapshot> Stages() => run?.GraphMetrics ?? [];
        if (!live)
        {
            run = new TrainingRun(settings, runDir, new Basis.Dashboard.QueueDepthObserver(new PlainObserver(output, settings.Train.Steps), runDir, Stages)) { Resume = resume, Fleet = fleet, ActorSystem = system, Backend = backend };
            return await run.RunAsync(cancellationToken);
        }

        RunSummary? summary = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var observer = new Basis.Dashboard.QueueDepthObserver(new LiveObserver(context, settings.Train.Steps), runDir, Stages);
                run = new TrainingRun(settings, runDir, observer) { Resume = resume, Fleet = fleet, ActorSystem = system, Backend = backend };
                summary = await run.RunAsync(cancellationToken);
            });
        return summary!;
    }

    internal static string StepLine(StepRecord r, int steps) => string.Create(
        CultureInfo.InvariantCulture,
        $"step {r.Step + 1}/{steps}  reward {r.MeanReward:F3}  held-out {(r.HeldOutAccuracy is double a ? a.ToString("P1", CultureInfo.InvariantCulture) : "-")}  beta {(r.Beta is double b ? b.ToString("F3", CultureInfo.InvariantCulture) : "-")}  active {r.ActiveSet?.ToString(CultureInfo.InvariantCulture) ?? "-"}  {r.TokensPerSecond:F0} tok/s");

    private sealed class LiveObserver(ProgressContext context, int steps) : ITrainingObserver
    {
        private ProgressTask? _sft;
        private ProgressTask? _table;
        private ProgressTask? _rl;
        private double? _lastAccuracy;

        public void Phase(string phase, string detail)
        {
            switch (phase)
            {
                case "sft":
                    _sft = context.AddTask(Markup.Escape($"SFT warm start: {detail}"), maxValue: 1);
                    break;
                case "offline-table":
                    _sft?.Value(_sft.MaxValue);
                    _table = context.AddTask(Markup.Escape($"offline table: {detail}"), maxValue: 1);
                    break;
                case "rl":
                    _table?.Value(_table.MaxValue);
                    _rl = context.AddTask(Markup.Escape($"RL {detail}"), maxValue: steps);
                    break;
                default:
                    break;
            }
        }

        public void Sft(SftProgress progress)
        {
            if (_sft is null)
            {
                return;
            }

            _sft.MaxValue = progress.TotalSteps;
            _sft.Value = progress.Step;
            _sft.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"SFT step {progress.Step}/{progress.TotalSteps}  loss {progress.Loss:F3}  lr {progress.LearningRate:G3}"));
        }

        public void OfflineTable(int donePrompts, int totalPrompts)
        {
            if (_table is null)
            {
                return;
            }

            _table.MaxValue = totalPrompts;
            _table.Value = donePrompts;
            _table.Description = Markup.Escape($"offline table: {donePrompts}/{totalPrompts} prompts");
        }

        public void Step(StepRecord record)
        {
            if (_rl is null)
            {
                return;
            }

            _lastAccuracy = record.HeldOutAccuracy ?? _lastAccuracy;
            _rl.Value = record.Step + 1;
            _rl.Description = Markup.Escape(StepLine(record with { HeldOutAccuracy = _lastAccuracy }, steps));
        }
    }

    /// <summary>Log lines for CI and redirected output: phases, every 10th SFT step, every step of RL.</summary>
    private sealed class PlainObserver(TextWriter output, int steps) : ITrainingObserver
    {
        public void Phase(string phase, string detail) => output.WriteLine($"[{phase}] {detail}");

        public void Sft(SftProgress progress)
        {
            if (progress.Step % 100 == 0 || progress.Step == progress.TotalSteps)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[sft] step {progress.Step}/{progress.TotalSteps} loss {progress.Loss:F3}"));
            }
        }

        public void OfflineTable(int donePrompts, int totalPrompts)
        {
            if (donePrompts == totalPrompts || donePrompts % 1024 < 64)
            {
                output.WriteLine($"[offline-table] {donePrompts}/{totalPrompts} prompts");
            }
        }

        public void Step(StepRecord record) => output.WriteLine($"[rl] {StepLine(record, steps)}");
    }
}
