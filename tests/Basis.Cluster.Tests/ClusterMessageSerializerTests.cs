using Akka.Serialization;
using Akka.TestKit.Xunit;
using Basis.Cluster.Protocol;

namespace Basis.Cluster.Tests;

public sealed class ClusterMessageSerializerTests() : TestKit(ClusterMessageSerializer.Hocon)
{
    public static TheoryData<IClusterMessage> Messages() =>
    [
        new RequestWork(3),
        new WorkAssignment(12, 2, Guid.NewGuid(), 40, 39, [new RemoteItem(5, 1, "p-5", "7+8=", ulong.MaxValue)]),
        new WorkFailed(12, 2, "ArgumentException: too long"),
        new GetSession(Guid.NewGuid()),
        new GetWeights(Guid.NewGuid(), 17),
        new GetWeightsChunk(Guid.NewGuid(), 17, 4),
        new WeightsUnavailable(Guid.NewGuid(), 17, "pruned"),
    ];

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_cluster_message_binds_to_the_binary_serializer_and_round_trips(IClusterMessage message)
    {
        Serializer serializer = Sys.Serialization.FindSerializerFor(message);

        object back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, message));

        Assert.IsType<ClusterMessageSerializer>(serializer);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(message, message.GetType()), System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
    }

    [Fact]
    public void Results_session_and_weights_keep_every_bit()
    {
        var serializer = (ClusterMessageSerializer)Sys.Serialization.FindSerializerForType(typeof(WorkDone));
        float[] logProbs = [-0.1f, float.Epsilon, -float.MaxValue, BitConverter.Int32BitsToSingle(0x7FC00001)];
        var done = new WorkDone(5, 1, [new RolloutResult("12", [1, 2, 3], [4, 5], logProbs, 9)]);
        var session = new SessionInfo(Guid.NewGuid(), "/runs/a", new Dictionary<string, string> { ["d-model"] = "32", ["layers"] = "1" }, "0123456789+=", 0.7f, 5, 0.9f, 6, 2);
        var chunk = new WeightsChunk(3, 1, [0, 255, 7]);
        var manifest = new WeightsManifest(Guid.NewGuid(), 3, 70_000, 65_536, new byte[32]);

        var doneBack = (WorkDone)serializer.FromBinary(serializer.ToBinary(done), serializer.Manifest(done));
        var sessionBack = (SessionInfo)serializer.FromBinary(serializer.ToBinary(session), serializer.Manifest(session));
        var chunkBack = (WeightsChunk)serializer.FromBinary(serializer.ToBinary(chunk), serializer.Manifest(chunk));
        var manifestBack = (WeightsManifest)serializer.FromBinary(serializer.ToBinary(manifest), serializer.Manifest(manifest));

        Assert.Equal(logProbs.Select(BitConverter.SingleToInt32Bits), doneBack.Results[0].BehaviourLogProbs.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal([1, 2, 3], doneBack.Results[0].PromptTokens);
        Assert.Equal(session.Model.OrderBy(kv => kv.Key), sessionBack.Model.OrderBy(kv => kv.Key));
        Assert.Equal(session with { Model = sessionBack.Model }, sessionBack);
        Assert.Equal(chunk.Data, chunkBack.Data);
        Assert.Equal(2, manifestBack.ChunkCount);
    }
}
