using System.Globalization;
using System.Text.Json;
using Basis.Training.Chaos;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary>
/// Faults injected through <c>basis.chaos</c> into a real <c>basis train</c> on the CI profile. Every
/// run is bounded by a generous hang detector; none of these tests asserts a duration.
/// </summary>
public sealed class TrainFaultTests : IDisposable
{
    private static readonly TimeSpan s_hangDetector = TimeSpan.FromMinutes(3);

    private readonly string _directory = Directory.CreateTempSubdirectory("basis-fault-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AVerifierThatThrowsOnOnePercentQuarantinesThoseRolloutsWithAReasonAndTheRunCompletes()
    {
        const int steps = 10;
        const int batch = 32;
        const double rate = 0.01;
        const ulong seed = 7; // basis.chaos.seed defaults to basis.run.seed, 7 in ci.conf
        string runDir = Path.Combine(_directory, "run");
        string chaos = Write("chaos.conf", $"basis.train {{ steps = {steps}, batch-size = {batch} }}\nbasis.chaos.verifier-failure-rate = {rate.ToString(CultureInfo.InvariantCulture)}\n");
        (long Step, int Slot)[] doomed = [.. from step in Enumerable.Range(0, steps)
                                             from slot in Enumerable.Range(0, batch)
                                             where ChaosSchedule.VerifierFails(seed, rate, step, slot)
                                             select ((long)step, slot)];
        Assert.NotEmpty(doomed); // about 1 % of 320 rollouts
        Assert.True(doomed.Length < steps * batch / 20);

        (int exitCode, string output, string error) = await RunAsync("train", "--config", Cli.Profile("ci.conf"), "--config", chaos, "--run-dir", runDir);

        Assert.True(exitCode == 0, error + output);
        Assert.Contains($"[rl] step {steps}/{steps}", output);

        // metrics.csv: the quarantined column counts exactly the doomed rollouts.
        string[] metrics = File.ReadAllLines(Path.Combine(runDir, "metrics.csv"));
        int column = Array.IndexOf(metrics[0].Split(','), "quarantined");
        Assert.Equal(doomed.Length, metrics.Skip(2).Sum(line => int.Parse(line.Split(',')[column], CultureInfo.InvariantCulture)));

        // The journal: each doomed rollout's RewardAssigned is quarantined with the injected failure as its reason, and no other is.
        string events = Path.Combine(_directory, "events.jsonl");
        Assert.Equal(0, (await RunAsync("replay", runDir, "--export", "jsonl", "--out", events)).ExitCode);
        var quarantined = new List<(long Step, int Slot, string Reason)>();
        foreach (string line in File.ReadLines(events))
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement e = document.RootElement.GetProperty("event");
            if (document.RootElement.GetProperty("manifest").GetString()!.StartsWith("RewardAssigned", StringComparison.Ordinal) && e.GetProperty("quarantined").GetBoolean())
            {
                quarantined.Add((e.GetProperty("step").GetInt64(), e.GetProperty("slot").GetInt32(), e.GetProperty("reason").GetString()!));
            }
        }

        Assert.Equal(doomed, quarantined.Select(q => (q.Step, q.Slot)).Order());
        Assert.All(quarantined, q => Assert.Contains($"verifier 'exact' threw ChaosException: injected verifier failure at step {q.Step} slot {q.Slot}", q.Reason));
    }

    [Fact]
    public async Task ACrashingGeneratorIsRestartedAndTheRunCompletesWithEveryRollout()
    {
        // ci.conf: 3 steps of 8 rollouts in chunks of 4, so 6 chunks; a generator crashing on its 4th chunk
        // crashes once, and its restarted successor (a fresh replica, after the backoff) finishes the run.
        string runDir = Path.Combine(_directory, "run");
        string chaos = Write("chaos.conf", "basis.chaos.generator-crash-every = 4\n");

        (int exitCode, string output, string error) = await RunAsync("train", "--config", Cli.Profile("ci.conf"), "--config", chaos, "--run-dir", runDir);

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("[supervision] 1 generator restart(s); 1 dropped chunk(s) generated again", output);
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
        Assert.Equal(3, summary.RootElement.GetProperty("steps").GetInt32());
        Assert.Equal(3 * 8, summary.RootElement.GetProperty("rollouts").GetInt64());
    }

    [Fact]
    public async Task WhenTheRestartBudgetIsSpentTheRunFailsWithExitCode1AndOneClearLine()
    {
        string runDir = Path.Combine(_directory, "run");
        string chaos = Write("chaos.conf", """
            basis.chaos.generator-crash-every = 1
            basis.graph.supervision { max-restarts = 2, backoff-min = 10 ms, backoff-max = 40 ms }
            """);

        (int exitCode, string output, string error) = await RunAsync("train", "--config", Cli.Profile("ci.conf"), "--config", chaos, "--run-dir", runDir);

        Assert.Equal(1, exitCode);
        Assert.DoesNotContain("[rl] step", output);
        string first = error.Split('\n')[0].TrimEnd('\r');
        Assert.StartsWith("basis train: the run failed: Stage 'generator-0", first, StringComparison.Ordinal);
        Assert.Contains("exhausted its restart budget (2 restarts within 00:01:00); last failure: ChaosException: injected generator crash", first);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal); // no stack trace
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Runs the CLI off the test thread so a hang fails the test instead of stalling the run.</summary>
    private static Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) =>
        Task.Run(() => Cli.Run(args), TestContext.Current.CancellationToken).WaitAsync(s_hangDetector, TestContext.Current.CancellationToken);
}
