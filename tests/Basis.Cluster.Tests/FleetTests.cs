using Basis.Cluster.Learner;
using Basis.Cluster.Worker;
using Basis.Model;
using Basis.Model.Sampling;
using Basis.Model.Tokenization;
using Basis.Tasks;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Tests;

/// <summary>The learner's proxies and a rollout node in one process, through a real PostgreSQL schema.</summary>
public sealed class FleetTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string Alphabet = "0123456789+-*=";

    private static WorkChunk Chunk(long step, int count) => new(
        step,
        Enumerable.Range(0, count)
            .Select(s => new WorkItem(step, s, 0, new TaskPrompt($"p{s}", $"{s}+{s % 3}=", $"{s + (s % 3)}", "easy", "exact"), null, (ulong)(1000 + s)))
            .ToArray());

    [Fact]
    public async Task Remote_rollouts_are_bit_identical_to_local_ones_and_come_back_in_chunk_order()
    {
        string connectionString = await postgres.CreateSchemaAsync();
        var tokenizer = new CharTokenizer(Alphabet);
        var config = new TransformerConfig(tokenizer.VocabSize, 16, 1, 2, 32, 24);
        TransformerModel model = TransformerModel.Create(config, seed: 11);
        var board = new WeightBoard<PolicyWeights>();
        board.Publish(0, PolicyWeights.Capture(model));
        var sampling = new SamplingOptions(1f, MaxNewTokens: 4);
        var log = new StringWriter();
        ClusterSettings learnerSettings = ClusterTestbed.Settings(connectionString);
        learnerSettings.NodeId = "learner";
        ClusterSettings workerSettings = ClusterTestbed.Settings(connectionString);
        workerSettings.NodeId = "worker";
        workerSettings.Slots = 2;
        workerSettings.ClaimBatch = 3;

        await using var fleet = new ClusterFleet(learnerSettings, chunkSize: 4, log);
        await fleet.StartAsync(new RolloutFleetContext("run-a", config, Alphabet, sampling, 0, board), CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var node = new RolloutNode(workerSettings, TextWriter.Null);
        Task running = node.RunAsync(stop.Token);

        IRolloutWorker proxy = fleet.CreateWorker(0);
        WorkChunk chunk = Chunk(0, 7);
        IReadOnlyList<Rollout> remote = await proxy.GenerateAsync(chunk, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        var local = new TransformerGenerator(model.Clone(), new PolicyText(tokenizer), board, sampling, 0);
        IReadOnlyList<Rollout> expected = await local.GenerateAsync(chunk, CancellationToken.None);

        Assert.Equal(2, fleet.Generators);
        Assert.Equal(chunk.Items, remote.Select(r => r.Work));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Completion, remote[i].Completion);
            Assert.Equal(expected[i].PromptTokens, remote[i].PromptTokens);
            Assert.Equal(expected[i].CompletionTokens, remote[i].CompletionTokens);
            Assert.Equal(expected[i].BehaviourLogProbs.Select(BitConverter.SingleToInt32Bits), remote[i].BehaviourLogProbs.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(0, remote[i].PolicyVersion);
        }

        // The next step needs version 1: the proxy waits for the learner to publish it, ships it, and the node loads it.
        model.Weights[0] += 0.5f;
        ValueTask<IReadOnlyList<Rollout>> next = proxy.GenerateAsync(Chunk(1, 2), CancellationToken.None);
        Assert.False(next.IsCompleted);
        board.Publish(1, PolicyWeights.Capture(model));
        IReadOnlyList<Rollout> stepOne = await next.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(stepOne, r => Assert.Equal(1, r.PolicyVersion));

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(9, node.Items);
        Assert.Contains("node worker (rollout, 2 slots", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_prompt_no_worker_can_generate_fails_the_proxy_after_max_attempts_naming_the_item_and_the_error()
    {
        string connectionString = await postgres.CreateSchemaAsync();
        var tokenizer = new CharTokenizer(Alphabet);
        var config = new TransformerConfig(tokenizer.VocabSize, 16, 1, 2, 32, 24);
        var board = new WeightBoard<PolicyWeights>();
        board.Publish(0, PolicyWeights.Capture(TransformerModel.Create(config, seed: 11)));
        ClusterSettings learnerSettings = ClusterTestbed.Settings(connectionString);
        learnerSettings.NodeId = "learner";
        learnerSettings.MaxAttempts = 2;
        ClusterSettings workerSettings = ClusterTestbed.Settings(connectionString);
        workerSettings.NodeId = "worker";
        var log = new StringWriter();

        await using var fleet = new ClusterFleet(learnerSettings, chunkSize: 1, TextWriter.Synchronized(log));
        await fleet.StartAsync(new RolloutFleetContext("run-p", config, Alphabet, new SamplingOptions(1f, MaxNewTokens: 4), 0, board), CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var node = new RolloutNode(workerSettings, TextWriter.Null);
        Task running = node.RunAsync(stop.Token);

        // 40 prompt tokens do not fit the 24-token context: every attempt throws on the worker.
        var poison = new WorkChunk(0, [new WorkItem(0, 0, 0, new TaskPrompt("too-long", new string('1', 40) + "=", "1", "easy", "exact"), null, 7)]);
        IRolloutWorker proxy = fleet.CreateWorker(0);
        var failure = await Assert.ThrowsAsync<ClusterWorkFailedException>(() => proxy.GenerateAsync(poison, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("(step 0, slot 0) failed 2 attempts", failure.Message, StringComparison.Ordinal);
        Assert.Contains("worker worker", failure.Message, StringComparison.Ordinal);

        // The run is stopping: later chunks fail at once instead of waiting on a cluster that will never finish them.
        await Assert.ThrowsAsync<ClusterWorkFailedException>(() => proxy.GenerateAsync(Chunk(0, 1), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("failed 2 attempts", log.ToString(), StringComparison.Ordinal);
    }
}
