namespace Basis.Hocon.Parsing;

internal enum IncludeKind
{
    Heuristic,
    File,
    Url,
    Classpath,
}

/// <summary>One <c>include</c> statement: <c>include "x"</c>, <c>include file("x")</c>, <c>include required(file("x"))</c>...</summary>
internal sealed record IncludeSpec(IncludeKind Kind, bool Required, string Name, HoconOrigin Origin)
{
    public static IncludeSpec Create(List<string> functions, string name, HoconOrigin origin)
    {
        if (functions.LastIndexOf("required") > 0)
        {
            throw new HoconException(origin, "invalid include: required(...) must be the outermost and may appear once");
        }

        bool required = false;
        var kind = IncludeKind.Heuristic;
        for (int i = 0; i < functions.Count; i++)
        {
            switch (functions[i])
            {
                case "required" when i == 0 && !required:
                    required = true;
                    break;
                case "required":
                    throw new HoconException(origin, "invalid include: required(...) must be the outermost and may appear once");
                case var location when kind == IncludeKind.Heuristic && i == functions.Count - 1:
                    kind = location switch
                    {
                        "file" => IncludeKind.File,
                        "url" => IncludeKind.Url,
                        _ => IncludeKind.Classpath,
                    };
                    break;
                default:
                    throw new HoconException(origin, "invalid include: at most one of file(...), url(...) or classpath(...), inside required(...) if present");
            }
        }

        return new IncludeSpec(kind, required, name, origin);
    }
}
