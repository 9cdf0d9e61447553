using System.Text.Json.Serialization;

namespace Basis.Cluster.Work;

/// <summary>What a worker needs to sample one item; the gold answer stays on the learner.</summary>
public sealed record WorkPayload(string PromptId, string Prompt, int GroupIndex, ulong Seed);

/// <summary>A generated completion as the worker sends it back.</summary>
public sealed record ResultPayload(string Completion, int[] PromptTokens, int[] CompletionTokens, float[] BehaviourLogProbs, long PolicyVersion);

/// <summary>What a learner session tells workers about its policy: enough to build the same sampler.</summary>
/// <param name="Model">The transformer's configuration as checkpoint metadata (<c>TransformerConfig.ToMetadata</c>).</param>
public sealed record SessionDescriptor(
    string RunId,
    IReadOnlyDictionary<string, string> Model,
    string Alphabet,
    float Temperature,
    int TopK,
    float TopP,
    int MaxNewTokens,
    int Staleness);

[JsonSerializable(typeof(WorkPayload))]
[JsonSerializable(typeof(ResultPayload))]
[JsonSerializable(typeof(SessionDescriptor))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ClusterJson : JsonSerializerContext;
