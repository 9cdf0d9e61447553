using Akka.Persistence.Journal;
using Basis.Training.Journal;
using Basis.Training.Run;

namespace Basis.Dashboard.Tests;

/// <summary>
/// A small run folder written through the journal's public API the way <c>basis train</c> writes it: RunStarted,
/// then per step the aggregator's rollouts, rewards and formed batch, and the learner's PolicyUpdated;
/// metrics.csv through <see cref="MetricsFile"/>. Rewards come from a seeded generator, so every figure is fixed.
/// </summary>
internal sealed class FixtureRun : IAsyncDisposable
{
    public const int BatchSize = 4;
    public const int EvalEvery = 5;

    private readonly TrainingJournal _journal;
    private readonly MetricsFile _metrics;
    private readonly Random _random = new(1234);

    private FixtureRun(string folder, TrainingJournal journal, MetricsFile metrics)
    {
        Folder = folder;
        _journal = journal;
        _metrics = metrics;
        Journal = new JournalQuery(journal.System, journal.Target, ownsSystem: false);
    }

    public string Folder { get; }

    /// <summary>A reader of the journal in the writer's actor system; its live queries poll every 50 ms.</summary>
    public JournalQuery Journal { get; }

    public int Steps { get; private set; }

    /// <summary>The per-step mean rewards written so far (quarantined rollouts left out), in step order.</summary>
    public List<double> MeanRewards { get; } = [];

    public static async Task<FixtureRun> CreateAsync(int steps, string estimator = "basis")
    {
        string folder = Path.Combine(Path.GetTempPath(), "basis-dashboard-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        JournalTarget target = JournalTarget.ForRunFolder(folder);
        TrainingJournal journal = await TrainingJournal.OpenAsync(RunActorSystem.Create(target, new JournalTuning { PollInterval = TimeSpan.FromMilliseconds(50) }), target, ownsSystem: true, CancellationToken.None);
        var metrics = new MetricsFile(Path.Combine(folder, MetricsPoints.FileName));
        var run = new FixtureRun(folder, journal, metrics);
        await journal.StartAsync(new RunStarted(estimator, "fixture", "policy-hash", "tasks-hash", "offline-table.jsonl", 8, 42, BatchSize, 1), CancellationToken.None);
        metrics.Append(new StepRecord(-1, 0, 0, double.NaN, 0.25, null, null, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0));
        await run.AppendStepsAsync(steps);
        return run;
    }

    /// <summary>Appends steps the way a running training does: aggregator events, the learner's update, the metrics row.</summary>
    public async Task AppendStepsAsync(int count)
    {
        for (int i = 0; i < count; i++)
        {
            long step = Steps++;
            var writes = new List<object>();
            var rewards = new double[BatchSize];
            var quarantined = new bool[BatchSize];
            for (int slot = 0; slot < BatchSize; slot++)
            {
                rewards[slot] = _random.Next(2);
                quarantined[slot] = slot == 0 && step % 3 == 2;
                writes.Add(new RolloutGenerated(step, slot, 0, $"p{slot}", "42", [1, 2], [-0.5f, -0.25f], step));
                writes.Add(new RewardAssigned(step, slot, rewards[slot], "fixture", quarantined[slot]));
            }

            double beta = 0.5 + (step * 0.01);
            writes.Add(new Tagged(
                new BatchFormed(step, "basis", [0, 1, 2, 3], ["p0", "p1", "p2", "p3"], [0, 0, 0, 0], rewards, quarantined, [3, 3, 3, 3], [8, 8, 8, 8], new double[BatchSize], new double[BatchSize], beta, BatchSize - (int)(step % 2)),
                ["batch"]));
            await _journal.AppendAsync(TrainingJournal.AggregatorId, writes, CancellationToken.None);

            double? accuracy = (step + 1) % EvalEvery == 0 ? 0.25 + (step * 0.01) : null;
            double loss = 0.1 - (step * 0.001);
            await _journal.WritePolicyUpdatedAsync(new PolicyUpdated(step + 1, step, null, loss, 0.5, 1e-4, 0.3, accuracy), CancellationToken.None);
            double kept = 0;
            int n = 0;
            for (int slot = 0; slot < BatchSize; slot++)
            {
                if (!quarantined[slot])
                {
                    kept += rewards[slot];
                    n++;
                }
            }

            MeanRewards.Add(n == 0 ? 0 : kept / n);
            _metrics.Append(new StepRecord(step, (step + 1) * BatchSize, step + 1, MeanRewards[^1], accuracy, beta, BatchSize, loss, 0.5, 1e-4, 0.3, 1000 + step, quarantined.Count(q => q)));
        }
    }

    /// <summary>What <c>basis mse-bench --run</c> would write: two estimators at three checkpoints.</summary>
    public void WriteValueMse() => File.WriteAllText(
        Path.Combine(Folder, ValueMseFile.FileName),
        """
        {"source":"fixture","checkpoints":[
          {"label":"step 10","step":10,"results":[{"estimator":"basis","mse":0.020},{"estimator":"reinforce++","mse":0.110}]},
          {"label":"step 30","step":30,"results":[{"estimator":"basis","mse":0.016},{"estimator":"reinforce++","mse":0.104}]},
          {"label":"step 50","step":50,"results":[{"estimator":"basis","mse":0.013},{"estimator":"reinforce++","mse":0.098}]}]}
        """);

    public void WriteSummary() =>
        File.WriteAllText(Path.Combine(Folder, "summary.json"), "{\"estimator\":\"basis\",\"steps\":" + Steps + ",\"cancelled\":false}");

    public async ValueTask DisposeAsync()
    {
        await _journal.DisposeAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A server under test may still hold the database open on another thread; the temp folder is reclaimed later.
        }
    }
}
