using Basis.Cluster.Weights;
using Basis.Hocon;

namespace Basis.Cluster.Tests;

public sealed class WeightStoreTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static float[] Weights(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
    }

    [Fact]
    public async Task Chunked_weights_come_back_bit_identical_and_only_recent_versions_are_kept()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        var store = new WeightStore(bed.Database, new WeightTransportSettings { ChunkSize = new ByteSize(1024) });
        Guid session = await bed.Sessions.StartAsync("learner", ClusterTestbed.Descriptor("run"), CancellationToken.None);
        float[] v0 = Weights(3001, seed: 1);
        float[] v1 = Weights(3001, seed: 2);
        v1[17] = float.NaN;
        v1[18] = -0f;

        await store.PublishAsync(session, 0, v0, keepFrom: 0, CancellationToken.None);
        Assert.Equal(0, (await store.LoadLatestAsync(session, CancellationToken.None)).Version);
        await store.PublishAsync(session, 1, v1, keepFrom: 1, CancellationToken.None);
        (long version, float[] loaded) = await store.LoadLatestAsync(session, CancellationToken.None);

        Assert.Equal(1, version);
        Assert.Equal(v1.Select(BitConverter.SingleToInt32Bits), loaded.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(12, await bed.CountAsync("SELECT count(*) FROM cluster_weights_chunk"));
        Assert.Equal(1, await bed.CountAsync("SELECT count(*) FROM cluster_weights_version"));
    }

    [Fact]
    public async Task A_corrupted_chunk_is_detected_by_its_checksum()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        var store = new WeightStore(bed.Database, new WeightTransportSettings { ChunkSize = new ByteSize(1024) });
        Guid session = await bed.Sessions.StartAsync("learner", ClusterTestbed.Descriptor("run"), CancellationToken.None);
        await store.PublishAsync(session, 0, Weights(1000, seed: 3), keepFrom: 0, CancellationToken.None);
        await PostgresFixture.ExecuteAsync(bed.ConnectionString, "UPDATE cluster_weights_chunk SET data = set_byte(data, 5, get_byte(data, 5) # 1) WHERE chunk = 2");

        ClusterWeightsException error = await Assert.ThrowsAsync<ClusterWeightsException>(() => store.LoadLatestAsync(session, CancellationToken.None));
        Assert.Contains("do not match their SHA-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Weights_can_travel_through_a_shared_path()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        string folder = Directory.CreateTempSubdirectory("basis-weights-").FullName;
        try
        {
            var store = new WeightStore(bed.Database, new WeightTransportSettings { Transport = "shared-path", SharedPath = folder });
            Guid session = await bed.Sessions.StartAsync("learner", ClusterTestbed.Descriptor("run"), CancellationToken.None);
            float[] v0 = Weights(500, seed: 4);
            await store.PublishAsync(session, 0, v0, keepFrom: 0, CancellationToken.None);
            await store.PublishAsync(session, 1, v0.Select(w => w * 2).ToArray(), keepFrom: 1, CancellationToken.None);

            (long version, float[] loaded) = await store.LoadLatestAsync(session, CancellationToken.None);

            Assert.Equal(1, version);
            Assert.Equal(v0.Select(w => w * 2), loaded);
            Assert.Equal(0, await bed.CountAsync("SELECT count(*) FROM cluster_weights_chunk"));
            Assert.Single(Directory.GetFiles(Path.Combine(folder, session.ToString("N"))));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_shared_path_transport_without_a_folder_is_a_configuration_error()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        ClusterConfigurationException error = Assert.Throws<ClusterConfigurationException>(() => new WeightStore(bed.Database, new WeightTransportSettings { Transport = "shared-path" }));
        Assert.Contains("basis.cluster.weights.shared-path", error.Message, StringComparison.Ordinal);
    }
}
