namespace Basis.Hocon.Parsing;

/// <summary>
/// Resolves the unresolved tree once: substitutions look "forward" at the final merged value of their path, except
/// self-references, which look "backward" at the value their field had before. Every node is resolved at most once.
/// </summary>
internal sealed class HoconResolver
{
    private readonly ObjectNode _root;
    private readonly HoconLoadSettings _settings;
    private readonly Dictionary<Node, HoconValue?> _resolved = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Node> _active = new(ReferenceEqualityComparer.Instance);
    private readonly List<Node> _stack = [];

    private HoconResolver(ObjectNode root, HoconLoadSettings settings)
    {
        _root = root;
        _settings = settings;
    }

    public static HoconObject Resolve(ObjectNode root, HoconLoadSettings settings)
        => (HoconObject)new HoconResolver(root, settings).Resolve(root)!;

    /// <returns>The value, or null when it is undefined (an optional substitution of something that does not exist).</returns>
    private HoconValue? Resolve(Node node)
    {
        if (node is ScalarNode scalar)
        {
            return new HoconScalar(scalar.Kind, scalar.Text, scalar.Origin);
        }

        if (_resolved.TryGetValue(node, out HoconValue? done))
        {
            return done;
        }

        if (!_active.Add(node))
        {
            throw CycleError(node);
        }

        if (_stack.Count >= _settings.MaxResolveDepth)
        {
            throw new HoconException(node.Origin, $"resolving '{node.FieldPath ?? "this value"}' needs more than {_settings.MaxResolveDepth} nested values and substitutions");
        }

        _stack.Add(node);
        HoconValue? value;
        try
        {
            value = node switch
            {
                ObjectNode obj => ResolveObject(obj),
                ArrayNode array => ResolveArray(array),
                SubstitutionNode substitution => ResolveSubstitution(substitution),
                ConcatenationNode concatenation => ResolveConcatenation(concatenation),
                DefinitionNode definition => ResolveDefinition(definition),
                _ => throw new InvalidOperationException($"unexpected node {node.GetType().Name}"),
            };
        }
        finally
        {
            _stack.RemoveAt(_stack.Count - 1);
            _active.Remove(node);
        }

        _resolved[node] = value;
        return value;
    }

    private HoconObject ResolveObject(ObjectNode obj)
    {
        var fields = new Dictionary<string, HoconValue>(obj.Fields.Count, StringComparer.Ordinal);
        foreach (var (key, child) in obj.Fields)
        {
            if (Resolve(child) is { } value)
            {
                fields[key] = value;
            }
        }

        return new HoconObject(fields, obj.Origin);
    }

    private HoconArray ResolveArray(ArrayNode array)
    {
        var items = new List<HoconValue>(array.Items.Count);
        foreach (Node item in array.Items)
        {
            if (Resolve(item) is { } value)
            {
                items.Add(value);
            }
        }

        return new HoconArray(items, array.Origin);
    }

    private HoconValue? ResolveDefinition(DefinitionNode definition)
    {
        HoconValue? value = Resolve(definition.Value);
        if (definition.Previous is null)
        {
            return value;
        }

        if (value is null)
        {
            // a = 1, a = ${?UNSET} leaves a = 1.
            return Resolve(definition.Previous);
        }

        return value is HoconObject over && Resolve(definition.Previous) is HoconObject under
            ? HoconObject.Merge(over, under)
            : value;
    }

    private HoconValue? ResolveSubstitution(SubstitutionNode substitution)
    {
        HoconValue? found = null;
        if (substitution.SelfReferenceOwner is { } owner)
        {
            if (owner.Previous is not null)
            {
                found = Navigate(Resolve(owner.Previous), substitution.SelfReferenceRemainder);
            }
        }
        else if (!TryLookup(substitution.Path, out found) && substitution.FallbackPath is { } fallback)
        {
            TryLookup(fallback, out found);
        }

        if (found is not null)
        {
            return found.WithOrigin(substitution.Origin);
        }

        string variable = string.Join('.', substitution.FallbackPath ?? substitution.Path);
        if (_settings.EnvironmentVariables(variable) is { } environmentValue)
        {
            return new HoconScalar(HoconValueKind.String, environmentValue, substitution.Origin);
        }

        if (substitution.Optional)
        {
            return null;
        }

        string where = substitution.FieldPath ?? EnclosingField() ?? "a value";
        throw new HoconException(substitution.Origin,
            $"unresolved substitution ${{{substitution.Expression}}} in '{where}': no setting '{PathExpression.Render(substitution.FallbackPath ?? substitution.Path)}' and no environment variable '{variable}' (use ${{?{substitution.Expression}}} if it may be absent)");
    }

    private bool TryLookup(string[] path, out HoconValue? value)
    {
        Node current = _root;
        for (int i = 0; i < path.Length; i++)
        {
            if (current is ObjectNode obj)
            {
                if (!obj.Fields.TryGetValue(path[i], out Node? child))
                {
                    value = null;
                    return false;
                }

                current = child;
                continue;
            }

            value = Navigate(Resolve(current), path.AsSpan(i));
            return value is not null;
        }

        value = Resolve(current);
        return value is not null;
    }

    private static HoconValue? Navigate(HoconValue? value, ReadOnlySpan<string> path)
    {
        foreach (string segment in path)
        {
            if (value is not HoconObject obj || !obj.TryGetValue(segment, out value))
            {
                return null;
            }
        }

        return value;
    }

    private HoconValue? ResolveConcatenation(ConcatenationNode concatenation)
    {
        var values = new List<HoconValue>(concatenation.Parts.Count);
        var whitespace = new List<string?>(concatenation.Parts.Count);
        string? pendingWhitespace = null;
        foreach (Node part in concatenation.Parts)
        {
            if (part is WhitespaceNode space)
            {
                pendingWhitespace += space.Text;
                continue;
            }

            if (Resolve(part) is { } value)
            {
                values.Add(value);
                whitespace.Add(pendingWhitespace);
                pendingWhitespace = null;
            }
        }

        if (values.Count == 0)
        {
            return null;
        }

        if (values.Count == 1 && (whitespace[0] is null || values[0].Kind is HoconValueKind.Object or HoconValueKind.Array))
        {
            return values[0];
        }

        if (values.Any(v => v.Kind is HoconValueKind.Object or HoconValueKind.Array))
        {
            if (values.All(v => v.Kind == HoconValueKind.Array))
            {
                return new HoconArray([.. values.SelectMany(v => (HoconArray)v)], concatenation.Origin);
            }

            if (values.All(v => v.Kind == HoconValueKind.Object))
            {
                HoconObject merged = (HoconObject)values[0];
                for (int i = 1; i < values.Count; i++)
                {
                    merged = HoconObject.Merge((HoconObject)values[i], merged);
                }

                return merged;
            }

            throw MismatchError(concatenation, values);
        }

        var text = new System.Text.StringBuilder();
        for (int i = 0; i < values.Count; i++)
        {
            text.Append(whitespace[i]).Append(((HoconScalar)values[i]).ConcatenationText);
        }

        return new HoconScalar(HoconValueKind.String, text.ToString(), concatenation.Origin);
    }

    private HoconException MismatchError(ConcatenationNode concatenation, List<HoconValue> values)
    {
        HoconValueKind structured = values.First(v => v.Kind is HoconValueKind.Object or HoconValueKind.Array).Kind;
        HoconValue other = values.First(v => v.Kind != structured);
        string where = concatenation.FieldPath ?? EnclosingField() ?? "a value";
        return new HoconException(other.Origin,
            $"cannot concatenate {HoconValue.Describe(structured)} with {HoconValue.Describe(other.Kind)} in '{where}' (only strings with strings, arrays with arrays, objects with objects)");
    }

    private string? EnclosingField()
    {
        for (int i = _stack.Count - 1; i >= 0; i--)
        {
            if (_stack[i].FieldPath is { } path)
            {
                return path;
            }
        }

        return null;
    }

    private HoconException CycleError(Node repeated)
    {
        int start = _stack.IndexOf(repeated);
        var keys = new List<string>();
        foreach (Node node in _stack.Skip(start))
        {
            if (node.FieldPath is { } path && (keys.Count == 0 || keys[^1] != path))
            {
                keys.Add(path);
            }
        }

        if (keys.Count == 0 || keys[0] != repeated.FieldPath)
        {
            keys.Insert(0, repeated.FieldPath ?? "?");
        }

        keys.Add(keys[0]);
        SubstitutionNode? substitution = _stack.Skip(start).OfType<SubstitutionNode>().LastOrDefault();
        return new HoconException(substitution?.Origin ?? repeated.Origin,
            $"substitution cycle: {string.Join(" -> ", keys)} (each of these keys depends on the next)");
    }
}
