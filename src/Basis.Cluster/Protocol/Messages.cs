namespace Basis.Cluster.Protocol;

// The messages that cross nodes. All of them bind to ClusterMessageSerializer (a compact binary
// form), so a result's floats arrive bit-identical and no message carries a type name.

/// <summary>Marks a message that may travel between nodes.</summary>
public interface IClusterMessage;

/// <summary>Rollout node → learner: a slot is free and asks for one chunk (work pulling: the only way work reaches a node).</summary>
public sealed record RequestWork(int Slot) : IClusterMessage;

/// <summary>Learner → rollout node: one chunk to sample with weights of at least <see cref="MinVersion"/>.</summary>
/// <param name="Attempt">Counts the chunk's assignments; only the current attempt's result is taken.</param>
public sealed record WorkAssignment(long WorkId, int Attempt, Guid SessionId, long Step, long MinVersion, RemoteItem[] Items) : IClusterMessage;

/// <summary>What a rollout node needs to sample one item; the gold answer stays on the learner.</summary>
public sealed record RemoteItem(int Slot, int GroupIndex, string PromptId, string Prompt, ulong Seed);

/// <summary>Rollout node → learner: the chunk's rollouts, in item order.</summary>
public sealed record WorkDone(long WorkId, int Attempt, RolloutResult[] Results) : IClusterMessage;

/// <summary>One generated completion as it travels back.</summary>
public sealed record RolloutResult(string Completion, int[] PromptTokens, int[] CompletionTokens, float[] BehaviourLogProbs, long PolicyVersion);

/// <summary>Rollout node → learner: the chunk could not be generated (the learner assigns it again, up to max-attempts).</summary>
public sealed record WorkFailed(long WorkId, int Attempt, string Error) : IClusterMessage;

/// <summary>Rollout node → learner: what does session <see cref="SessionId"/> sample with?</summary>
public sealed record GetSession(Guid SessionId) : IClusterMessage;

/// <summary>What a learner session tells rollout nodes about its policy: enough to build the same sampler.</summary>
/// <param name="Model">The transformer's configuration as checkpoint metadata (<c>TransformerConfig.ToMetadata</c>).</param>
public sealed record SessionInfo(
    Guid SessionId,
    string RunId,
    IReadOnlyDictionary<string, string> Model,
    string Alphabet,
    float Temperature,
    int TopK,
    float TopP,
    int MaxNewTokens,
    int Staleness) : IClusterMessage;

/// <summary>Rollout node → learner: the newest weights, at least <see cref="MinVersion"/>.</summary>
public sealed record GetWeights(Guid SessionId, long MinVersion) : IClusterMessage;

/// <summary>A published version: its length, chunking and SHA-256; the chunks follow on request.</summary>
public sealed record WeightsManifest(Guid SessionId, long Version, long Length, int ChunkSize, byte[] Sha256) : IClusterMessage
{
    public int ChunkCount => (int)((Length + ChunkSize - 1) / ChunkSize);
}

/// <summary>Rollout node → learner: chunk <see cref="Index"/> of <see cref="Version"/>.</summary>
public sealed record GetWeightsChunk(Guid SessionId, long Version, int Index) : IClusterMessage;

/// <summary>One chunk of a version's bytes (little-endian floats), smaller than Akka.Remote's maximum frame.</summary>
public sealed record WeightsChunk(long Version, int Index, byte[] Data) : IClusterMessage;

/// <summary>The learner cannot serve what was asked (an unknown session, a version not yet published or already pruned).</summary>
public sealed record WeightsUnavailable(Guid SessionId, long Version, string Reason) : IClusterMessage;
