using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Basis.Hocon;

public enum HoconValueKind
{
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
}

/// <summary>A fully resolved configuration value (no substitutions left).</summary>
public abstract class HoconValue
{
    private protected HoconValue(HoconOrigin origin) => Origin = origin;

    public abstract HoconValueKind Kind { get; }

    /// <summary>Where the value was written (for a substituted value: where the substitution was written).</summary>
    public HoconOrigin Origin { get; }

    internal abstract HoconValue WithOrigin(HoconOrigin origin);

    internal static string Describe(HoconValueKind kind) => kind switch
    {
        HoconValueKind.Object => "an object",
        HoconValueKind.Array => "an array",
        HoconValueKind.String => "a string",
        HoconValueKind.Number => "a number",
        HoconValueKind.Boolean => "a boolean",
        _ => "null",
    };
}

/// <summary>A string, number, boolean or null. Numbers keep the text they were written with.</summary>
public sealed class HoconScalar : HoconValue
{
    public HoconScalar(HoconValueKind kind, string? text, HoconOrigin origin)
        : base(origin)
    {
        if (kind is HoconValueKind.Object or HoconValueKind.Array)
        {
            throw new ArgumentOutOfRangeException(nameof(kind), "A scalar cannot be an object or an array.");
        }

        Kind = kind;
        Text = kind == HoconValueKind.Null ? null : text ?? throw new ArgumentNullException(nameof(text));
    }

    public override HoconValueKind Kind { get; }

    /// <summary>The value as text; null only for the null value.</summary>
    public string? Text { get; }

    /// <summary>The text used when this value takes part in a string concatenation.</summary>
    internal string ConcatenationText => Text ?? "null";

    internal override HoconValue WithOrigin(HoconOrigin origin) => new HoconScalar(Kind, Text, origin);

    public override string ToString() => Text ?? "null";
}

/// <summary>An ordered array.</summary>
public sealed class HoconArray : HoconValue, IReadOnlyList<HoconValue>
{
    private readonly List<HoconValue> _items;

    internal HoconArray(List<HoconValue> items, HoconOrigin origin)
        : base(origin)
    {
        _items = items;
    }

    public override HoconValueKind Kind => HoconValueKind.Array;

    public int Count => _items.Count;

    public HoconValue this[int index] => _items[index];

    public IEnumerator<HoconValue> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal override HoconValue WithOrigin(HoconOrigin origin) => new HoconArray(_items, origin);
}

/// <summary>An object whose fields keep the order in which they were first defined.</summary>
public sealed class HoconObject : HoconValue, IReadOnlyDictionary<string, HoconValue>
{
    private readonly Dictionary<string, HoconValue> _fields;

    internal HoconObject(Dictionary<string, HoconValue> fields, HoconOrigin origin)
        : base(origin)
    {
        _fields = fields;
    }

    public override HoconValueKind Kind => HoconValueKind.Object;

    public int Count => _fields.Count;

    public IEnumerable<string> Keys => _fields.Keys;

    public IEnumerable<HoconValue> Values => _fields.Values;

    public HoconValue this[string key] => _fields[key];

    public bool ContainsKey(string key) => _fields.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out HoconValue value) => _fields.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, HoconValue>> GetEnumerator() => _fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal override HoconValue WithOrigin(HoconOrigin origin) => new HoconObject(_fields, origin);

    /// <summary>Merges <paramref name="over"/> onto <paramref name="under"/>: objects merge field by field, anything else replaces.</summary>
    internal static HoconObject Merge(HoconObject over, HoconObject under)
    {
        var fields = new Dictionary<string, HoconValue>(under._fields, StringComparer.Ordinal);
        foreach (var (key, value) in over._fields)
        {
            fields[key] = value is HoconObject overChild && fields.TryGetValue(key, out var existing) && existing is HoconObject underChild
                ? Merge(overChild, underChild)
                : value;
        }

        return new HoconObject(fields, over.Origin);
    }
}
