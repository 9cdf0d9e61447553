using System.Text.Json.Serialization;
using Basis.Persistence.Serialization;

namespace Basis.Persistence.Tests;

public sealed record RolloutGenerated(string PromptId, int Version, double Reward);

public sealed record PolicyUpdated(int Version, string Checkpoint);

public sealed record CounterSnapshot(long Total, string[] Seen);

/// <summary>Version 1 of a renamed-field event, as an older build wrote it.</summary>
public sealed record RewardAssignedV1(string Prompt, double Value);

/// <summary>Version 2: the field was renamed and a unit added.</summary>
public sealed record RewardAssigned(string PromptId, double Value, string Unit);

[JsonSerializable(typeof(RolloutGenerated))]
[JsonSerializable(typeof(PolicyUpdated))]
internal sealed partial class TestJsonContext : JsonSerializerContext;

internal static class TestRegistries
{
    public static EventSerializerRegistry Create() => new EventSerializerRegistry()
        .Register("RolloutGenerated", 1, TestJsonContext.Default.RolloutGenerated)
        .Register("PolicyUpdated", 1, TestJsonContext.Default.PolicyUpdated)
        .Register<CounterSnapshot>("CounterSnapshot", 1);

    /// <summary>What an older build registered: RewardAssigned at version 1.</summary>
    public static EventSerializerRegistry CreateV1() => Create().Register<RewardAssignedV1>("RewardAssigned", 1);

    /// <summary>The current build: RewardAssigned at version 2 with an upcaster from version 1.</summary>
    public static EventSerializerRegistry CreateV2() => Create()
        .Register<RewardAssigned>("RewardAssigned", 2)
        .RegisterUpcaster("RewardAssigned", 1, node =>
        {
            System.Text.Json.Nodes.JsonObject obj = node.AsObject();
            obj["PromptId"] = obj["Prompt"]?.DeepClone();
            obj.Remove("Prompt");
            obj["Unit"] = "points";
            return obj;
        });
}
