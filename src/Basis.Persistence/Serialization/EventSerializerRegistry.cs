using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Basis.Persistence.Serialization;

/// <summary>
/// Maps CLR types to a manifest "Name.vN" and back, with System.Text.Json payloads. Each name has one
/// current version, used for writing; older versions are read by passing the stored JSON through the
/// registered upcasters (vN -> vN+1 -> ... -> current) before deserializing it as the current type.
/// Register everything before first use; after that the registry is safe to share between threads.
/// </summary>
public sealed class EventSerializerRegistry
{
    private static readonly JsonSerializerOptions s_defaultOptions = new(JsonSerializerDefaults.General)
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    private readonly Dictionary<Type, Registration> _byType = [];
    private readonly Dictionary<string, Registration> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Name, int FromVersion), Func<JsonNode, JsonNode>> _upcasters = [];

    // Replay resolves the same few manifests millions of times; parse each once.
    private readonly ConcurrentDictionary<string, (Registration Registration, int Version)> _resolved = new(StringComparer.Ordinal);

    /// <summary>Registers <typeparamref name="T"/> as version <paramref name="version"/> of <paramref name="name"/>.</summary>
    public EventSerializerRegistry Register<T>(string name, int version, JsonTypeInfo<T> typeInfo)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        ValidateName(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        if (_byType.ContainsKey(typeof(T)))
        {
            throw new ArgumentException($"Type {typeof(T)} is already registered.", nameof(T));
        }

        if (_byName.ContainsKey(name))
        {
            throw new ArgumentException($"Manifest name '{name}' is already registered.", nameof(name));
        }

        var registration = new Registration(
            name,
            version,
            FormatManifest(name, version),
            value => JsonSerializer.SerializeToUtf8Bytes((T)value, typeInfo),
            bytes => JsonSerializer.Deserialize(bytes, typeInfo),
            node => node.Deserialize(typeInfo));
        _byType.Add(typeof(T), registration);
        _byName.Add(name, registration);
        return this;
    }

    /// <summary>Registers <typeparamref name="T"/> with reflection-based (or caller-supplied) JSON options.</summary>
    public EventSerializerRegistry Register<T>(string name, int version, JsonSerializerOptions? options = null)
        where T : notnull
    {
        JsonSerializerOptions effective = s_defaultOptions;
        if (options is not null)
        {
            effective = new JsonSerializerOptions(options);
            effective.TypeInfoResolver ??= new DefaultJsonTypeInfoResolver();
        }

        return Register(name, version, (JsonTypeInfo<T>)effective.GetTypeInfo(typeof(T)));
    }

    /// <summary>
    /// Registers the step that turns a payload stored as <c>name.v{fromVersion}</c> into the shape of
    /// version <c>fromVersion + 1</c>. Reading an old version needs every step up to the current one.
    /// </summary>
    public EventSerializerRegistry RegisterUpcaster(string name, int fromVersion, Func<JsonNode, JsonNode> upcast)
    {
        ValidateName(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(fromVersion, 1);
        ArgumentNullException.ThrowIfNull(upcast);
        if (!_upcasters.TryAdd((name, fromVersion), upcast))
        {
            throw new ArgumentException($"An upcaster from '{FormatManifest(name, fromVersion)}' is already registered.", nameof(fromVersion));
        }

        return this;
    }

    /// <summary>The manifest written for <paramref name="type"/>.</summary>
    public string ManifestOf(Type type) => Lookup(type).Manifest;

    /// <summary>Serializes <paramref name="value"/> into its current manifest and UTF-8 JSON payload.</summary>
    public (string Manifest, byte[] Payload) Serialize(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Registration registration = Lookup(value.GetType());
        return (registration.Manifest, registration.Serialize(value));
    }

    /// <summary>Deserializes a payload stored under <paramref name="manifest"/>, upcasting older versions.</summary>
    public object Deserialize(string manifest, byte[] payload)
    {
        (Registration registration, int version) = Resolve(manifest);
        string name = registration.Name;

        object? result;
        try
        {
            if (version == registration.Version)
            {
                result = registration.Deserialize(payload);
            }
            else
            {
                JsonNode node = JsonNode.Parse(payload)
                    ?? throw new EventSerializationException($"Payload of '{manifest}' is JSON null.");
                for (int v = version; v < registration.Version; v++)
                {
                    if (!_upcasters.TryGetValue((name, v), out Func<JsonNode, JsonNode>? upcast))
                    {
                        throw new EventSerializationException(
                            $"No upcaster from '{FormatManifest(name, v)}' to '{FormatManifest(name, v + 1)}' is registered.");
                    }

                    node = upcast(node);
                }

                result = registration.DeserializeNode(node);
            }
        }
        catch (JsonException ex)
        {
            throw new EventSerializationException($"Payload of '{manifest}' is not valid: {ex.Message}", ex);
        }

        return result ?? throw new EventSerializationException($"Payload of '{manifest}' is JSON null.");
    }

    public static string FormatManifest(string name, int version) =>
        string.Create(CultureInfo.InvariantCulture, $"{name}.v{version}");

    private static (string Name, int Version) ParseManifest(string manifest)
    {
        int dot = manifest.LastIndexOf(".v", StringComparison.Ordinal);
        if (dot <= 0
            || !int.TryParse(manifest.AsSpan(dot + 2), NumberStyles.None, CultureInfo.InvariantCulture, out int version)
            || version < 1)
        {
            throw new EventSerializationException($"Malformed manifest '{manifest}': expected 'Name.vN'.");
        }

        return (manifest[..dot], version);
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"Manifest name '{name}' must not contain white space.", nameof(name));
        }
    }

    private (Registration Registration, int Version) Resolve(string manifest)
    {
        if (_resolved.TryGetValue(manifest, out (Registration Registration, int Version) resolved))
        {
            return resolved;
        }

        (string name, int version) = ParseManifest(manifest);
        if (!_byName.TryGetValue(name, out Registration? registration))
        {
            throw new EventSerializationException($"Unknown manifest '{manifest}': no type is registered under '{name}'.");
        }

        if (version > registration.Version)
        {
            throw new EventSerializationException(
                $"Manifest '{manifest}' is newer than the registered version {registration.Version} of '{name}' (written by a newer build?).");
        }

        _resolved.TryAdd(manifest, (registration, version));
        return (registration, version);
    }

    private Registration Lookup(Type type) =>
        _byType.TryGetValue(type, out Registration? registration)
            ? registration
            : throw new EventSerializationException($"Type {type} is not registered with the event serializer registry.");

    private sealed record Registration(
        string Name,
        int Version,
        string Manifest,
        Func<object, byte[]> Serialize,
        Func<byte[], object?> Deserialize,
        Func<JsonNode, object?> DeserializeNode);
}
