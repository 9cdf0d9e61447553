using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Basis.Training.Run;

namespace Basis.Training.Journal;

/// <summary>
/// The Akka serializer of a run's events and snapshots: System.Text.Json payloads under a manifest
/// "Name.vN". A field added to a record keeps its manifest (an old payload reads with the field's
/// default); a change that old payloads cannot satisfy gets the next version, and the old manifest keeps
/// reading through <see cref="Formats"/>' entry for it.
/// </summary>
public sealed class JournalEventSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer's identifier in the journal's <c>identifier</c> column (ids up to 100 are Akka's).</summary>
    public const int Id = 1717;

    private static readonly JsonSerializerOptions s_options = new(JsonSerializerDefaults.General)
    {
        // Quarantined rollouts and unevaluated accuracies are NaN; they round-trip as named literals.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Every manifest this serializer reads, with the type it reads as. The writing manifest of each type is its highest version.</summary>
    internal static readonly FrozenDictionary<string, Type> Formats = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        ["RunStarted.v1"] = typeof(RunStarted),
        ["RolloutGenerated.v1"] = typeof(RolloutGenerated),
        ["RewardAssigned.v1"] = typeof(RewardAssigned),
        ["BatchFormed.v1"] = typeof(BatchFormed),
        ["PolicyUpdated.v1"] = typeof(PolicyUpdated),
        ["RunSnapshot.v1"] = typeof(RunSnapshot),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<Type, string> s_manifests = Formats
        .GroupBy(f => f.Value)
        .ToFrozenDictionary(g => g.Key, g => g.Select(f => f.Key).MaxBy(Version)!);

    public JournalEventSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    public override int Identifier => Id;

    /// <summary>The types bound to this serializer in the actor system's configuration.</summary>
    public static IEnumerable<Type> BoundTypes => s_manifests.Keys;

    public override string Manifest(object o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return s_manifests.TryGetValue(o.GetType(), out string? manifest)
            ? manifest
            : throw new SerializationException($"{o.GetType()} is not a journal event or snapshot of a run.");
    }

    public override byte[] ToBinary(object obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        _ = Manifest(obj);
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), s_options);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (!Formats.TryGetValue(manifest, out Type? type))
        {
            throw new JournalFormatException($"manifest '{manifest}' is not a format this version of basis reads (it reads {string.Join(", ", Formats.Keys)})");
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, type, s_options) ?? throw new JournalFormatException($"a {manifest} payload is JSON null");
        }
        catch (JsonException e)
        {
            throw new JournalFormatException($"a {manifest} payload is not valid: {e.Message}", e);
        }
    }

    private static int Version(string manifest) => int.Parse(manifest.AsSpan(manifest.LastIndexOf(".v", StringComparison.Ordinal) + 2), System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A stored payload this serializer cannot turn back into an event or snapshot.</summary>
public sealed class JournalFormatException : SerializationException
{
    public JournalFormatException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
