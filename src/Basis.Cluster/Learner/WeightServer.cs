using System.Security.Cryptography;
using Akka.Actor;
using Basis.Cluster.Protocol;

namespace Basis.Cluster.Learner;

/// <summary>
/// Serves the learner's published weight versions to rollout nodes (<c>/user/basis-weights</c>):
/// a manifest with the SHA-256 of the whole version, then chunks on request, each well below
/// Akka.Remote's maximum frame size. Nodes pull the chunks (a few in flight), so a version never
/// travels as one message and never floods the connection the heartbeats share. It keeps the two
/// newest versions, so a node that is halfway through one when the next is published can finish.
/// </summary>
internal sealed class WeightServer : ReceiveActor
{
    private readonly Guid _session;
    private readonly int _chunkSize;
    private readonly SortedList<long, Published> _versions = [];

    public WeightServer(Guid session, int chunkSize)
    {
        _session = session;
        _chunkSize = chunkSize;
        Receive<Publish>(OnPublish);
        Receive<GetWeights>(OnGetWeights);
        Receive<GetWeightsChunk>(OnGetChunk);
    }

    public static Props Props(Guid session, int chunkSize) => Akka.Actor.Props.Create(() => new WeightServer(session, chunkSize));

    private void OnPublish(Publish publish)
    {
        _versions[publish.Version] = new Published(publish.Bytes, SHA256.HashData(publish.Bytes));
        while (_versions.Count > 2)
        {
            _versions.RemoveAt(0);
        }

        Sender.Tell(Published.Ack);
    }

    private void OnGetWeights(GetWeights get)
    {
        if (get.SessionId != _session || _versions.Count == 0 || _versions.Keys[^1] < get.MinVersion)
        {
            Sender.Tell(new WeightsUnavailable(get.SessionId, get.MinVersion, get.SessionId != _session
                ? $"session {get.SessionId:N} is not this learner's"
                : $"no version at least {get.MinVersion} is published"));
            return;
        }

        long version = _versions.Keys[^1];
        Published published = _versions.Values[^1];
        Sender.Tell(new WeightsManifest(_session, version, published.Bytes.Length, _chunkSize, published.Sha256));
    }

    private void OnGetChunk(GetWeightsChunk get)
    {
        if (get.SessionId != _session || !_versions.TryGetValue(get.Version, out Published? published))
        {
            Sender.Tell(new WeightsUnavailable(get.SessionId, get.Version, $"version {get.Version} is no longer served"));
            return;
        }

        int offset = checked(get.Index * _chunkSize);
        if (get.Index < 0 || offset >= published.Bytes.Length)
        {
            Sender.Tell(new WeightsUnavailable(get.SessionId, get.Version, $"version {get.Version} has no chunk {get.Index}"));
            return;
        }

        int length = Math.Min(_chunkSize, published.Bytes.Length - offset);
        Sender.Tell(new WeightsChunk(get.Version, get.Index, published.Bytes.AsSpan(offset, length).ToArray()));
    }

    /// <summary>A new version's bytes (little-endian floats); replied to with an acknowledgement once it is served.</summary>
    public sealed record Publish(long Version, byte[] Bytes);

    private sealed record Published(byte[] Bytes, byte[] Sha256)
    {
        public static readonly object Ack = new();
    }
}
