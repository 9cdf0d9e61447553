namespace Basis.Hocon.Parsing;

/// <summary>
/// Stacks a later definition of a field on an earlier one, before anything is resolved. This one rule serves
/// duplicate keys, path keys, includes and configuration layers alike (HOCON's <c>withFallback</c>).
/// </summary>
internal static class NodeMerger
{
    public static void Assign(ObjectNode target, string key, Node value)
    {
        target.Fields[key] = target.Fields.TryGetValue(key, out Node? existing) ? Stack(value, existing) : value;
    }

    public static Node Stack(Node incoming, Node existing)
    {
        switch (incoming)
        {
            case ObjectNode later when existing is ObjectNode earlier:
                foreach (var (key, value) in later.Fields)
                {
                    Assign(earlier, key, value);
                }

                return earlier;
            case DefinitionNode definition:
                definition.Previous = definition.Previous is null ? existing : Stack(definition.Previous, existing);
                return definition;
            case ObjectNode later when existing is not (ScalarNode or ArrayNode):
                // The earlier value may still turn out to be an object once resolved: merge then.
                return new DefinitionNode(later, existing) { FieldPath = later.FieldPath ?? existing.FieldPath };
            case SubstitutionNode or ConcatenationNode when HasSubstitution(incoming):
                // It may resolve to an object (which merges onto the earlier value) or be undefined (${?x}: keep it).
                return new DefinitionNode(incoming, existing) { FieldPath = incoming.FieldPath ?? existing.FieldPath };
            default:
                return incoming;
        }
    }

    private static bool HasSubstitution(Node node)
        => node is SubstitutionNode || (node is ConcatenationNode concatenation && concatenation.Parts.Any(part => part is SubstitutionNode));
}
