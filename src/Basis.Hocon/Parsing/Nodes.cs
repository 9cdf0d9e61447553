namespace Basis.Hocon.Parsing;

// The unresolved syntax tree. Parsing and layering build it; HoconResolver turns it into HoconValue.

internal abstract class Node
{
    protected Node(HoconOrigin origin) => Origin = origin;

    public HoconOrigin Origin { get; }

    /// <summary>The dotted key of the field this node is the value of, for naming keys in error messages.</summary>
    public string? FieldPath { get; set; }
}

internal sealed class ObjectNode : Node
{
    public ObjectNode(HoconOrigin origin)
        : base(origin)
    {
    }

    public Dictionary<string, Node> Fields { get; } = new(StringComparer.Ordinal);
}

internal sealed class ArrayNode : Node
{
    public ArrayNode(HoconOrigin origin)
        : base(origin)
    {
    }

    public List<Node> Items { get; } = [];
}

internal sealed class ScalarNode : Node
{
    public ScalarNode(HoconValueKind kind, string? text, HoconOrigin origin)
        : base(origin)
    {
        Kind = kind;
        Text = text;
    }

    public HoconValueKind Kind { get; }

    public string? Text { get; }
}

/// <summary>Whitespace between two parts of a value concatenation; it matters only when the result is a string.</summary>
internal sealed class WhitespaceNode : Node
{
    public WhitespaceNode(string text, HoconOrigin origin)
        : base(origin)
    {
        Text = text;
    }

    public string Text { get; }
}

internal sealed class ConcatenationNode : Node
{
    public ConcatenationNode(List<Node> parts, HoconOrigin origin)
        : base(origin)
    {
        Parts = parts;
    }

    public List<Node> Parts { get; }
}

internal sealed class SubstitutionNode : Node
{
    public SubstitutionNode(string expression, string[] path, string[]? fallbackPath, bool optional, HoconOrigin origin)
        : base(origin)
    {
        Expression = expression;
        Path = path;
        FallbackPath = fallbackPath;
        Optional = optional;
    }

    /// <summary>The text between <c>${</c> (or <c>${?</c>) and <c>}</c>, for messages.</summary>
    public string Expression { get; }

    /// <summary>The absolute path looked up first (prefixed with the include location for included files).</summary>
    public string[] Path { get; }

    /// <summary>For a file included below the root: the path as written, looked up when <see cref="Path"/> is missing.</summary>
    public string[]? FallbackPath { get; }

    public bool Optional { get; }

    /// <summary>
    /// Set when the substitution refers to the field it defines (or a path inside it): it then looks "backward" at the
    /// value the field had before this definition instead of at the final value.
    /// </summary>
    public DefinitionNode? SelfReferenceOwner { get; set; }

    /// <summary>For a self-reference: the part of <see cref="Path"/> below the field being defined.</summary>
    public string[] SelfReferenceRemainder { get; set; } = [];
}

/// <summary>
/// A field defined on top of an earlier definition of the same field. <see cref="Previous"/> is what self-references in
/// <see cref="Value"/> see, and what an object value merges onto once both are resolved.
/// </summary>
internal sealed class DefinitionNode : Node
{
    public DefinitionNode(Node value, Node? previous)
        : base(value.Origin)
    {
        Value = value;
        Previous = previous;
    }

    public Node Value { get; }

    public Node? Previous { get; set; }
}
