using Basis.Tasks.OfflineTable;
using Basis.Tasks.Synthetic;
using Basis.Tasks.Verification;

namespace Basis.Tasks.Tests.OfflineTable;

public sealed class OfflineTableBuilderTests : IDisposable
{
    private const string Policy = "sha256:policy-a";

    private static readonly IReadOnlyList<TaskPrompt> s_prompts =
        ArithmeticTaskGenerator.Generate(new ArithmeticTaskConfig { Seed = 11, TrainSize = 50, EvalSize = 0 }).Train;

    private static readonly OfflineTableBuildOptions s_options = new() { SamplesPerPrompt = 8, BatchSize = 7, Seed = 5 };

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void CountsSuccessesPerPromptAndWritesAHeader()
    {
        var sampler = new FakeSampler();
        string path = _temp.File("table.jsonl");

        OfflineTableBuildResult result = Builder(sampler).Build(s_prompts, Policy, path, s_options, TestContext.Current.CancellationToken);

        Assert.True(result.Table.IsComplete);
        Assert.Equal(50, result.SampledPrompts);
        Assert.Equal(0, result.ResumedPrompts);
        Assert.Equal(8, sampler.Calls);
        Assert.Equal(Policy, result.Table.Header.PolicyHash);
        Assert.Equal(TaskSetHash.Compute(s_prompts), result.Table.Header.TaskSetHash);
        foreach (TaskPrompt prompt in s_prompts)
        {
            Assert.Equal(new PromptPassCount(sampler.ExpectedSuccesses[prompt.Id], 8), result.Table.Counts[prompt.Id]);
        }

        Assert.Contains(result.Table.Counts.Values, c => c.Successes is > 0 and < 8);
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(51, lines.Length);
        Assert.Contains("\"format\":\"basis-offline-table/1\"", lines[0]);
        Assert.Contains($"\"policyHash\":\"{Policy}\"", lines[0]);
    }

    [Fact]
    public void InterruptedBuildResumesToTheSameTable()
    {
        OfflineTableData uninterrupted = Builder(new FakeSampler()).Build(s_prompts, Policy, _temp.File("whole.jsonl"), s_options, TestContext.Current.CancellationToken).Table;
        string path = _temp.File("resumed.jsonl");
        using var stop = new CancellationTokenSource();

        // The fourth sampler call "crashes": its batch is dropped, the three before it are on disk.
        var first = new FakeSampler { OnCall = call => { if (call == 4) { stop.Cancel(); } } };
        Assert.Throws<OperationCanceledException>(() => Builder(first).Build(s_prompts, Policy, path, s_options, stop.Token));
        Assert.Equal(1 + 21, File.ReadAllLines(path).Length);

        var second = new FakeSampler();
        OfflineTableBuildResult resumed = Builder(second).Build(s_prompts, Policy, path, s_options, TestContext.Current.CancellationToken);

        Assert.Equal(21, resumed.ResumedPrompts);
        Assert.Equal(29, resumed.SampledPrompts);
        Assert.Equal(5, second.Calls);
        Assert.Equal(uninterrupted.Counts.OrderBy(kv => kv.Key), resumed.Table.Counts.OrderBy(kv => kv.Key));
        Assert.Equal(uninterrupted.Header, resumed.Table.Header);
    }

    [Fact]
    public void HalfWrittenLastLineIsCutOffAndResampled()
    {
        string path = _temp.File("torn.jsonl");
        Builder(new FakeSampler()).Build(s_prompts.Take(7).ToList(), Policy, path, s_options, TestContext.Current.CancellationToken);
        string[] lines = File.ReadAllLines(path);
        File.WriteAllText(path, string.Join("\n", lines.Take(5)) + "\n" + lines[5][..10]);

        OfflineTableBuildResult resumed = Builder(new FakeSampler()).Build(s_prompts.Take(7).ToList(), Policy, path, s_options, TestContext.Current.CancellationToken);

        Assert.Equal(4, resumed.ResumedPrompts);
        Assert.Equal(3, resumed.SampledPrompts);
        Assert.Equal(8, File.ReadAllLines(path).Length);
        Assert.Equal(7, OfflineTableFile.Load(path, Policy, expectedTaskSetHash: null, allowPolicyMismatch: false).Counts.Count);
    }

    [Fact]
    public void AnotherPolicyIsRefusedUnlessAllowed()
    {
        string path = _temp.File("policy.jsonl");
        Builder(new FakeSampler()).Build(s_prompts, Policy, path, s_options, TestContext.Current.CancellationToken);

        var error = Assert.Throws<OfflineTableException>(() => Builder(new FakeSampler()).Build(s_prompts, "sha256:policy-b", path, s_options, TestContext.Current.CancellationToken));
        Assert.Contains("policy-a", error.Message);
        Assert.Contains("policy-b", error.Message);
        Assert.Throws<OfflineTableException>(() => OfflineTableFile.Load(path, "sha256:policy-b", null, allowPolicyMismatch: false));

        OfflineTableBuildResult allowed = Builder(new FakeSampler())
            .Build(s_prompts, "sha256:policy-b", path, s_options with { AllowPolicyMismatch = true }, TestContext.Current.CancellationToken);
        Assert.True(allowed.Table.PolicyMismatchAllowed);
        Assert.Equal(Policy, allowed.Table.Header.PolicyHash);
        Assert.True(OfflineTableFile.Load(path, "sha256:policy-b", null, allowPolicyMismatch: true).PolicyMismatchAllowed);
    }

    [Fact]
    public void AnotherTaskSetOrSamplingSetupIsRefused()
    {
        string path = _temp.File("tasks.jsonl");
        Builder(new FakeSampler()).Build(s_prompts, Policy, path, s_options, TestContext.Current.CancellationToken);

        var tasks = Assert.Throws<OfflineTableException>(
            () => Builder(new FakeSampler()).Build(s_prompts.Skip(1).ToList(), Policy, path, s_options with { AllowPolicyMismatch = true }, TestContext.Current.CancellationToken));
        Assert.Contains("task set", tasks.Message);
        var samples = Assert.Throws<OfflineTableException>(
            () => Builder(new FakeSampler()).Build(s_prompts, Policy, path, s_options with { SamplesPerPrompt = 4 }, TestContext.Current.CancellationToken));
        Assert.Contains("samples per prompt", samples.Message);
    }

    [Fact]
    public void CorruptEntryIsAnErrorNamingTheLine()
    {
        string path = _temp.File("corrupt.jsonl");
        Builder(new FakeSampler()).Build(s_prompts.Take(3).ToList(), Policy, path, s_options, TestContext.Current.CancellationToken);
        string[] lines = File.ReadAllLines(path);
        lines[2] = "{\"id\":\"" + s_prompts[1].Id + "\",\"successes\":9,\"samples\":8}";
        File.WriteAllLines(path, lines);

        var error = Assert.Throws<OfflineTableException>(() => Builder(new FakeSampler()).Build(s_prompts.Take(3).ToList(), Policy, path, s_options, TestContext.Current.CancellationToken));

        Assert.Contains($"{path} line 3", error.Message);
    }

    [Fact]
    public void SamplerReturningTheWrongCountIsAnError()
    {
        var sampler = new FakeSampler { DropLast = true };

        Assert.Throws<InvalidOperationException>(() => Builder(sampler).Build(s_prompts, Policy, _temp.File("short.jsonl"), s_options, TestContext.Current.CancellationToken));
    }

    private static OfflineTableBuilder Builder(ICompletionSampler sampler) => new(sampler, VerifierRegistry.CreateDefault(TestClock.FrozenOptions));

    /// <summary>
    /// Deterministic stand-in for a policy: completion j of a prompt is right when a hash of (id, j) falls
    /// under a per-prompt pass rate, so prompts range from never to always solved.
    /// </summary>
    private sealed class FakeSampler : ICompletionSampler
    {
        public int Calls { get; private set; }

        public Action<int>? OnCall { get; init; }

        public bool DropLast { get; init; }

        public Dictionary<string, int> ExpectedSuccesses { get; } = [];

        public IReadOnlyList<string> Sample(IReadOnlyList<TaskPrompt> prompts, int samplesPerPrompt, ulong seed)
        {
            Calls++;
            OnCall?.Invoke(Calls);
            var completions = new List<string>();
            foreach (TaskPrompt prompt in prompts)
            {
                int passPercent = (int)(Hash(prompt.Id, 0) % 101);
                int successes = 0;
                for (int j = 0; j < samplesPerPrompt; j++)
                {
                    bool right = Hash(prompt.Id, (ulong)j + 1 + seed) % 100 < (ulong)passPercent;
                    successes += right ? 1 : 0;
                    completions.Add(right ? prompt.Gold + "\n" : prompt.Gold + "1");
                }

                ExpectedSuccesses[prompt.Id] = successes;
            }

            if (DropLast)
            {
                completions.RemoveAt(completions.Count - 1);
            }

            return completions;
        }

        private static ulong Hash(string id, ulong salt)
        {
            ulong h = 14695981039346656037UL ^ salt;
            foreach (char c in id)
            {
                h = (h ^ c) * 1099511628211UL;
            }

            return h;
        }
    }
}
