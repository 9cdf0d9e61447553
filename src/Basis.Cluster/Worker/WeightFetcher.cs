using System.Security.Cryptography;
using Akka.Actor;
using Basis.Cluster.Protocol;

namespace Basis.Cluster.Worker;

/// <summary>
/// Pulls one weight version from the learner's weight server: the manifest, then its chunks with a
/// few requests in flight, and checks the SHA-256 of the whole before anyone samples with it.
/// </summary>
internal static class WeightFetcher
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    /// <summary>The manifest of the newest version, at least <paramref name="minVersion"/>.</summary>
    /// <exception cref="ClusterWeightsException">The learner cannot serve such a version.</exception>
    public static async Task<WeightsManifest> ManifestAsync(ICanTell server, Guid session, long minVersion, CancellationToken cancellationToken)
    {
        object reply = await server.Ask<object>(new GetWeights(session, minVersion), s_timeout, cancellationToken).ConfigureAwait(false);
        return reply switch
        {
            WeightsManifest m => m,
            WeightsUnavailable u => throw new ClusterWeightsException(u.Reason),
            _ => throw new ClusterWeightsException($"unexpected reply {reply.GetType().Name} to a weights request"),
        };
    }

    /// <summary>The version's bytes, verified against the manifest's SHA-256.</summary>
    /// <exception cref="ClusterWeightsException">A chunk is missing (the version was pruned) or the bytes do not match their checksum.</exception>
    public static async Task<byte[]> FetchAsync(ICanTell server, WeightsManifest manifest, int window, CancellationToken cancellationToken)
    {
        var bytes = new byte[manifest.Length];
        var options = new ParallelOptions { MaxDegreeOfParallelism = window, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, manifest.ChunkCount), options, async (index, token) =>
        {
            object reply = await server.Ask<object>(new GetWeightsChunk(manifest.SessionId, manifest.Version, index), s_timeout, token).ConfigureAwait(false);
            if (reply is not WeightsChunk chunk)
            {
                throw new ClusterWeightsException(reply is WeightsUnavailable u ? u.Reason : $"unexpected reply {reply.GetType().Name} to a chunk request");
            }

            long offset = (long)index * manifest.ChunkSize;
            if (chunk.Version != manifest.Version || chunk.Index != index || offset + chunk.Data.Length > bytes.Length)
            {
                throw new ClusterWeightsException($"chunk {index} of version {manifest.Version} does not fit the manifest");
            }

            chunk.Data.CopyTo(bytes, offset);
        }).ConfigureAwait(false);

        if (!SHA256.HashData(bytes).AsSpan().SequenceEqual(manifest.Sha256))
        {
            throw new ClusterWeightsException($"weights version {manifest.Version} do not match their SHA-256: refusing to sample with them");
        }

        return bytes;
    }
}
