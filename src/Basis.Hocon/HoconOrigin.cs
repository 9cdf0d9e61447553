namespace Basis.Hocon;

/// <summary>Where a value or an error comes from: a file (or a named string source), a 1-based line and column.</summary>
public readonly record struct HoconOrigin(string Source, int Line, int Column)
{
    public override string ToString() => Line > 0 ? $"{Source}:{Line}:{Column}" : Source;
}
