using System.Security.Cryptography;
using Akka.Actor;
using Akka.TestKit.Xunit;
using Basis.Cluster.Learner;
using Basis.Cluster.Protocol;
using Basis.Cluster.Worker;

namespace Basis.Cluster.Tests;

public sealed class WeightTransferTests : TestKit
{
    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task A_version_travels_in_chunks_no_larger_than_the_chunk_size_and_arrives_whole()
    {
        var session = Guid.NewGuid();
        IActorRef server = Sys.ActorOf(WeightServer.Props(session, chunkSize: 1000));
        byte[] weights = Bytes(4500, 1);
        await server.Ask<object>(new WeightServer.Publish(3, weights));

        WeightsManifest manifest = await WeightFetcher.ManifestAsync(server, session, minVersion: 2, CancellationToken.None);
        byte[] fetched = await WeightFetcher.FetchAsync(server, manifest, window: 2, CancellationToken.None);
        WeightsChunk last = await server.Ask<WeightsChunk>(new GetWeightsChunk(session, 3, 4));

        Assert.Equal(3, manifest.Version);
        Assert.Equal(5, manifest.ChunkCount);
        Assert.Equal(SHA256.HashData(weights), manifest.Sha256);
        Assert.Equal(weights, fetched);
        Assert.Equal(500, last.Data.Length);
    }

    [Fact]
    public async Task The_server_keeps_two_versions_and_says_what_it_cannot_serve()
    {
        var session = Guid.NewGuid();
        IActorRef server = Sys.ActorOf(WeightServer.Props(session, chunkSize: 1000));
        for (long v = 0; v < 3; v++)
        {
            await server.Ask<object>(new WeightServer.Publish(v, Bytes(10, (int)v)));
        }

        Assert.IsType<WeightsUnavailable>(await server.Ask<object>(new GetWeightsChunk(session, 0, 0)));
        Assert.IsType<WeightsChunk>(await server.Ask<object>(new GetWeightsChunk(session, 1, 0)));
        var ahead = Assert.IsType<WeightsUnavailable>(await server.Ask<object>(new GetWeights(session, 5)));
        Assert.Contains("no version at least 5", ahead.Reason, StringComparison.Ordinal);
        Assert.IsType<WeightsUnavailable>(await server.Ask<object>(new GetWeights(Guid.NewGuid(), 0)));
    }

    [Fact]
    public async Task Bytes_that_do_not_match_the_manifests_sha256_are_refused()
    {
        var session = Guid.NewGuid();
        IActorRef server = Sys.ActorOf(WeightServer.Props(session, chunkSize: 1000));
        await server.Ask<object>(new WeightServer.Publish(1, Bytes(2500, 2)));
        WeightsManifest manifest = await WeightFetcher.ManifestAsync(server, session, 1, CancellationToken.None);
        WeightsManifest tampered = manifest with { Sha256 = SHA256.HashData(Bytes(2500, 3)) };

        var error = await Assert.ThrowsAsync<ClusterWeightsException>(() => WeightFetcher.FetchAsync(server, tampered, window: 4, CancellationToken.None));

        Assert.Contains("do not match their SHA-256", error.Message, StringComparison.Ordinal);
    }
}
