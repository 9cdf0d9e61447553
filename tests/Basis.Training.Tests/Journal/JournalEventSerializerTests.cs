using System.Text;
using Akka.Serialization;
using Akka.TestKit.Xunit;
using Basis.Training.Journal;
using Xunit;

namespace Basis.Training.Tests.Journal;

/// <summary>The events' Akka serializer: registered for every event type, versioned manifests, old payloads still read.</summary>
public sealed class JournalEventSerializerTests() : TestKit(JournalConfig.For(JournalTarget.Sqlite(":memory:")))
{
    [Fact]
    public void EveryEventTypeIsBoundToTheJournalSerializerWithAVersionedManifest()
    {
        foreach (Type type in JournalEventSerializer.BoundTypes)
        {
            Serializer serializer = Sys.Serialization.FindSerializerForType(type);
            Assert.IsType<JournalEventSerializer>(serializer);
            Assert.True(serializer.Identifier > 100);
        }

        var updated = new PolicyUpdated(3, 2, "checkpoints/step-000003.safetensors", 0.5, 1, 1e-3, 0.2, double.NaN);
        Assert.Equal("PolicyUpdated.v1", Serialization.ManifestFor(Sys.Serialization.FindSerializerFor(updated), updated));
    }

    [Fact]
    public void AnEventRoundTripsBitForBit()
    {
        var formed = new BatchFormed(7, "basis", [0, 1], ["a", "b"], [0, 0], [1, 0], [false, true], [3, -1], [4, -1], [0.1 + 0.2, double.NaN], [-0.0, double.Epsilon], null, 2);
        var serializer = (JournalEventSerializer)Sys.Serialization.FindSerializerFor(formed);

        var back = Assert.IsType<BatchFormed>(serializer.FromBinary(serializer.ToBinary(formed), serializer.Manifest(formed)));

        Assert.Equal(formed.Baselines.Select(BitConverter.DoubleToInt64Bits), back.Baselines.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(formed.Advantages.Select(BitConverter.DoubleToInt64Bits), back.Advantages.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equivalent(formed, back, strict: true);
    }

    [Fact]
    public void AnEventWrittenBeforeAFieldWasAddedStillReads()
    {
        // PolicyUpdated.v1 as a build without HeldOutAccuracy and Entropy wrote it.
        byte[] old = Encoding.UTF8.GetBytes("""{"Version":3,"Step":2,"Checkpoint":null,"Loss":0.5,"GradNorm":1.25,"LearningRate":0.001}""");
        var serializer = (JournalEventSerializer)Sys.Serialization.FindSerializerForType(typeof(PolicyUpdated));

        var read = Assert.IsType<PolicyUpdated>(serializer.FromBinary(old, "PolicyUpdated.v1"));

        Assert.Equal(new PolicyUpdated(3, 2, null, 0.5, 1.25, 0.001, 0, null), read);
    }

    [Fact]
    public void AManifestThisVersionDoesNotKnowIsANamedFormatError()
    {
        var serializer = (JournalEventSerializer)Sys.Serialization.FindSerializerForType(typeof(PolicyUpdated));

        var error = Assert.Throws<JournalFormatException>(() => serializer.FromBinary("{}"u8.ToArray(), "PolicyUpdated.v9"));

        Assert.Contains("PolicyUpdated.v9", error.Message, StringComparison.Ordinal);
    }
}
