using System.Text.Json;
using System.Text.Json.Serialization;

namespace Basis.Estimators;

/// <summary>Serializable state of a stateful estimator (for snapshots and replay).</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(BasisState), "basis")]
[JsonDerivedType(typeof(KaeState), "kae")]
[JsonDerivedType(typeof(EbpoState), "ebpo")]
public abstract record EstimatorState;

/// <summary>One past observation of a prompt.</summary>
/// <param name="Step">Step the rollout was scored at.</param>
/// <param name="Reward">Its reward.</param>
public sealed record HistoryEntry(long Step, double Reward);

/// <summary>A prompt's history, oldest first.</summary>
public sealed record PromptHistory(string PromptId, HistoryEntry[] Entries);

/// <summary>
/// A prompt's own evidence for BASIS, as of <paramref name="Step"/>: Weight = sum_s 2^(-(Step - s)/h) over its past
/// rollouts, WeightedResidual = the same sum of (r_s - m_s), the reward minus the offline model's value at step s.
/// </summary>
public sealed record PromptEvidence(string PromptId, long Step, double Weight, double WeightedResidual);

/// <summary>BASIS state: the beta calibrated on the last batch, each prompt's decayed evidence, and the sum and count
/// of the revisit intervals seen (they set the history half-life; absent in snapshots written before they existed).</summary>
public sealed record BasisState(double? PreviousBeta, PromptEvidence[] Evidence, long RevisitGapSum = 0, long Revisits = 0) : EstimatorState;

/// <summary>KAE state: each prompt's reward history.</summary>
public sealed record KaeState(PromptHistory[] History) : EstimatorState;

/// <summary>EBPO state: the running global mean reward (null before the first batch).</summary>
public sealed record EbpoState(double? GlobalMean) : EstimatorState;

/// <summary>JSON for estimator state; strings only, no files.</summary>
public static class EstimatorStateJson
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize(EstimatorState state) => JsonSerializer.Serialize(state, s_options);

    /// <exception cref="FormatException">The JSON is not an estimator state.</exception>
    public static EstimatorState Deserialize(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<EstimatorState>(json, s_options)
                ?? throw new FormatException("Estimator state JSON is null.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"Estimator state JSON is malformed: {e.Message}", e);
        }
    }
}
