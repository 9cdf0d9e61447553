using Akka.Actor;
using Basis.Cluster.Hosting;
using Basis.Cluster.Learner;
using Basis.Cluster.Worker;
using Basis.Model;
using Basis.Model.Sampling;
using Basis.Model.Tokenization;
using Basis.Tasks;
using Basis.Training.Graph;
using Basis.Training.Policy;

namespace Basis.Cluster.Tests;

/// <summary>The learner's fleet and a rollout node in one process, as two ActorSystems of one cluster over TLS on 127.0.0.1.</summary>
public sealed class FleetTests
{
    private const string Alphabet = "0123456789+-*=";

    private static WorkChunk Chunk(long step, int count) => new(
        step,
        Enumerable.Range(0, count)
            .Select(s => new WorkItem(step, s, 0, new TaskPrompt($"p{s}", $"{s}+{s % 3}=", $"{s + (s % 3)}", "easy", "exact"), null, (ulong)(1000 + s)))
            .ToArray());

    [Fact]
    public async Task Remote_rollouts_are_bit_identical_to_local_ones_and_a_new_version_reaches_the_node_in_chunks()
    {
        using var certificates = new TestCertificates();
        int learnerPort = AkkaTestConfig.FreePort();
        var tokenizer = new CharTokenizer(Alphabet);
        var config = new TransformerConfig(tokenizer.VocabSize, 16, 1, 2, 32, 24);
        TransformerModel model = TransformerModel.Create(config, seed: 11);
        var board = new WeightBoard<PolicyWeights>();
        board.Publish(0, PolicyWeights.Capture(model));
        var sampling = new SamplingOptions(1f, MaxNewTokens: 4);
        var log = new StringWriter();

        // 1 KiB chunks: the model's 5,000-odd floats travel as twenty-odd messages.
        var settings = new ClusterSettings { Enabled = true, Slots = 2, MaxOutstanding = 8, Weights = new WeightTransferSettings { ChunkSize = new Hocon.ByteSize(1024) } };
        ActorSystem system = ClusterActorSystem.Create(AkkaTestConfig.Node(learnerPort, learnerPort, certificates.Cluster), ClusterActorSystem.Roles("learner", "learner"));
        await using var learner = new LearnerNode(system, settings, chunkSize: 4, TextWriter.Synchronized(log), ownsSystem: true);
        string runDir = Path.Combine(certificates.Folder, "run");
        await learner.Fleet.StartAsync(new RolloutFleetContext(runDir, config, Alphabet, sampling, 0, board), CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var nodeLog = new StringWriter();
        var node = new RolloutNode(new ClusterConfiguration(new ClusterSettings { NodeId = "w", Slots = 2, Weights = settings.Weights }, AkkaTestConfig.Node(0, learnerPort, certificates.Cluster)), TextWriter.Synchronized(nodeLog));
        Task running = node.RunAsync(stop.Token);

        IRolloutWorker proxy = learner.Fleet.CreateWorker(0);
        WorkChunk chunk = Chunk(0, 7);
        IReadOnlyList<Rollout> remote = await proxy.GenerateAsync(chunk, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60))
            .ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : throw new TimeoutException($"no rollouts; the node's log:\n{nodeLog}\nthe learner's log:\n{log}"));
        var local = new TransformerGenerator(model.Clone(), new PolicyText(tokenizer), board, sampling, 0);
        IReadOnlyList<Rollout> expected = await local.GenerateAsync(chunk, CancellationToken.None);

        Assert.Equal(2, learner.Fleet.Generators);
        Assert.Equal(chunk.Items, remote.Select(r => r.Work));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Completion, remote[i].Completion);
            Assert.Equal(expected[i].PromptTokens, remote[i].PromptTokens);
            Assert.Equal(expected[i].CompletionTokens, remote[i].CompletionTokens);
            Assert.Equal(expected[i].BehaviourLogProbs.Select(BitConverter.SingleToInt32Bits), remote[i].BehaviourLogProbs.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(0, remote[i].PolicyVersion);
        }

        // The next step needs version 1 (staleness 0): the proxy waits for the learner to publish it, and the node pulls it before sampling.
        model.Weights[0] += 0.5f;
        ValueTask<IReadOnlyList<Rollout>> next = proxy.GenerateAsync(Chunk(1, 2), CancellationToken.None);
        Assert.False(next.IsCompleted);
        board.Publish(1, PolicyWeights.Capture(model));
        IReadOnlyList<Rollout> stepOne = await next.AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(stepOne, r => Assert.Equal(1, r.PolicyVersion));

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(9, node.Rollouts);
        Assert.Contains("policy version 1", nodeLog.ToString(), StringComparison.Ordinal);
        Assert.Contains("node w (rollout", log.ToString(), StringComparison.Ordinal);
        Assert.Contains("node w stopped after 9 rollouts", nodeLog.ToString(), StringComparison.Ordinal);
        Assert.Contains(Membership.MembersFile.Read(runDir), m => m.Name == "learner" && m.Roles.SequenceEqual(["learner"]));
    }
}
