using System.Globalization;
using System.Text.RegularExpressions;
using Basis.Model.Training;
using Basis.Training.Run;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Basis.Training.Tests;

/// <summary>
/// The SFT warm start's early stop: probes of training prompts every <c>check-every</c> steps, a stop at the first
/// probe that reaches <c>target-accuracy</c>, the step count in the summary and in the cached checkpoint.
/// </summary>
public sealed partial class WarmStartTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-warmstart-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task SftStopsAtTheFirstProbeThatReachesTheTargetAndTheCacheRemembersWhere()
    {
        CancellationToken cancellation = TestContext.Current.CancellationToken;

        // An unreachable target runs every step, probing at 100 and 200 (not at the last step: training ends there anyway).
        var unstopped = new PhaseLog();
        RunSummary full = await new TrainingRun(Settings(target: 1.01), Path.Combine(_directory, "full"), unstopped).RunAsync(cancellation);
        Assert.Equal(300, full.SftSteps);
        Dictionary<int, double> probes = unstopped.Probes();
        Assert.Equal([100, 200], probes.Keys.Order());

        // A target at the step-200 probe stops at the first probe that reaches it (the same seeds, so the same probes).
        // Probes are multiples of 1/32 printed to 0.1 %, so half a printed digit below the value is still above any lower probe.
        double target = Math.Max(probes[200] - 0.0005, 1e-9);
        double reach = Math.Max(probes[200], 1e-9);
        int expected = probes.Keys.Order().Cast<int?>().FirstOrDefault(s => probes[s!.Value] >= reach) ?? 300;
        var log = new PhaseLog();
        string run = Path.Combine(_directory, "stopped");
        RunSummary stopped = await new TrainingRun(Settings(target), run, log).RunAsync(cancellation);
        Assert.Equal(expected, stopped.SftSteps);
        Assert.Contains(log.Details, d => d.Contains("target reached", StringComparison.Ordinal) == (expected < 300));

        // Run again in the same folder: the cached warm start is reused and still reports where it stopped.
        var again = new PhaseLog();
        RunSummary cached = await new TrainingRun(Settings(target), run, again).RunAsync(cancellation);
        Assert.Equal(expected, cached.SftSteps);
        Assert.Contains(again.Details, d => d.StartsWith("reusing the cached warm start", StringComparison.Ordinal));
        Assert.Equal(stopped.StartAccuracy, cached.StartAccuracy);
    }

    private static TrainSettings Settings(double target) => new(
        new RunSettings { Seed = 7, CheckpointEvery = 0, Progress = false },
        new ModelSettings { DModel = 32, Layers = 1, Heads = 2, FfDim = 64, Context = 24, Threads = 1 },
        new SftSettings { Steps = 300, BatchSize = 8, TargetAccuracy = target, CheckEvery = 100, ProbeSize = 32 },
        new TaskSettings { TrainSize = 32, EvalSize = 16, Tiers = ["add-1d"] },
        new OfflineTableSettings { Samples = 2 },
        new EstimatorSettings { Name = "basis" },
        new TrainLoopSettings { Steps = 1, BatchSize = 8, MaxNewTokens = 4, EvalEvery = 0 },
        new GraphSettings { QueueBound = 2, ChunkSize = 4 },
        new JournalSettings { SnapshotEvery = 0 });

    [GeneratedRegex(@"^step (\d+): pass@1 ([0-9.]+) % on 32 training prompts")]
    private static partial Regex ProbeLine();

    private sealed class PhaseLog : ITrainingObserver
    {
        public List<string> Details { get; } = [];

        public Dictionary<int, double> Probes() => Details
            .Select(d => ProbeLine().Match(d))
            .Where(m => m.Success)
            .ToDictionary(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) / 100);

        public void Phase(string phase, string detail)
        {
            if (phase == "sft")
            {
                Details.Add(detail);
            }
        }

        public void Sft(SftProgress progress)
        {
        }

        public void OfflineTable(int donePrompts, int totalPrompts)
        {
        }

        public void Step(StepRecord record)
        {
        }
    }
}
