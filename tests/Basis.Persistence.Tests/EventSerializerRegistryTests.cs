using System.Text;
using System.Text.Json;
using Basis.Persistence.Serialization;

namespace Basis.Persistence.Tests;

public sealed class EventSerializerRegistryTests
{
    [Fact]
    public void Round_trips_through_the_manifest_name_and_version()
    {
        EventSerializerRegistry registry = TestRegistries.Create();
        var original = new RolloutGenerated("p1", 7, 0.75);

        (string manifest, byte[] payload) = registry.Serialize(original);

        Assert.Equal("RolloutGenerated.v1", manifest);
        Assert.Equal(original, registry.Deserialize(manifest, payload));
        Assert.Equal("CounterSnapshot.v1", registry.ManifestOf(typeof(CounterSnapshot)));
    }

    [Fact]
    public void Upcasters_bring_an_old_version_to_the_current_type()
    {
        (string manifest, byte[] payload) = TestRegistries.CreateV1().Serialize(new RewardAssignedV1("p3", 0.5));

        object upcast = TestRegistries.CreateV2().Deserialize(manifest, payload);

        Assert.Equal("RewardAssigned.v1", manifest);
        Assert.Equal(new RewardAssigned("p3", 0.5, "points"), upcast);
    }

    [Fact]
    public void Upcasters_chain_across_several_versions()
    {
        EventSerializerRegistry registry = new EventSerializerRegistry()
            .Register<RewardAssigned>("Reward", 3)
            .RegisterUpcaster("Reward", 1, node =>
            {
                node["Value"] = node["Score"]!.GetValue<double>();
                node.AsObject().Remove("Score");
                return node;
            })
            .RegisterUpcaster("Reward", 2, node =>
            {
                node["Unit"] = "points";
                return node;
            });

        object fromV1 = registry.Deserialize("Reward.v1", Encoding.UTF8.GetBytes("""{"PromptId":"a","Score":2.5}"""));
        object fromV2 = registry.Deserialize("Reward.v2", Encoding.UTF8.GetBytes("""{"PromptId":"b","Value":1.5}"""));

        Assert.Equal(new RewardAssigned("a", 2.5, "points"), fromV1);
        Assert.Equal(new RewardAssigned("b", 1.5, "points"), fromV2);
    }

    [Fact]
    public void A_missing_upcaster_names_the_missing_step()
    {
        EventSerializerRegistry registry = new EventSerializerRegistry().Register<RewardAssigned>("Reward", 3)
            .RegisterUpcaster("Reward", 2, node => node);

        EventSerializationException error = Assert.Throws<EventSerializationException>(
            () => registry.Deserialize("Reward.v1", Encoding.UTF8.GetBytes("{}")));

        Assert.Contains("'Reward.v1' to 'Reward.v2'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NoSuchEvent.v1", "Unknown manifest")]
    [InlineData("RolloutGenerated.v2", "newer than the registered version 1")]
    [InlineData("RolloutGenerated", "Malformed manifest")]
    [InlineData("RolloutGenerated.v0", "Malformed manifest")]
    [InlineData("RolloutGenerated.vx", "Malformed manifest")]
    public void Bad_manifests_are_rejected_with_a_reason(string manifest, string reason)
    {
        EventSerializationException error = Assert.Throws<EventSerializationException>(
            () => TestRegistries.Create().Deserialize(manifest, Encoding.UTF8.GetBytes("{}")));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"PromptId\": ")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    public void Corrupt_payloads_are_rejected_naming_the_manifest(string json)
    {
        EventSerializationException error = Assert.Throws<EventSerializationException>(
            () => TestRegistries.Create().Deserialize("RolloutGenerated.v1", Encoding.UTF8.GetBytes(json)));

        Assert.Contains("'RolloutGenerated.v1'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unregistered_types_and_duplicate_registrations_are_rejected()
    {
        EventSerializerRegistry registry = TestRegistries.Create();

        Assert.Throws<EventSerializationException>(() => registry.Serialize(new RewardAssigned("p", 1, "u")));
        Assert.Throws<ArgumentException>(() => registry.Register<RolloutGenerated>("Other", 1));
        Assert.Throws<ArgumentException>(() => registry.Register<RewardAssigned>("RolloutGenerated", 2));
        Assert.Throws<ArgumentException>(() => registry.Register<RewardAssigned>("Has space", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => registry.Register<RewardAssigned>("Reward", 0));
    }

    [Fact]
    public void Caller_options_are_honoured_without_being_mutated()
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        EventSerializerRegistry registry = new EventSerializerRegistry().Register<RewardAssigned>("Reward", 1, options);

        (_, byte[] payload) = registry.Serialize(new RewardAssigned("p", 1, "u"));

        Assert.Contains("\"prompt_id\"", Encoding.UTF8.GetString(payload), StringComparison.Ordinal);
        Assert.False(options.IsReadOnly);
    }
}
