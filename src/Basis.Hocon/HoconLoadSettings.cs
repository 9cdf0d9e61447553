namespace Basis.Hocon;

/// <summary>How configuration is read: where environment variables come from, and safety limits.</summary>
public sealed class HoconLoadSettings
{
    public static HoconLoadSettings Default { get; } = new();

    /// <summary>
    /// Looks up an environment variable for a substitution the configuration does not define. Tests pass a dictionary
    /// lookup here to stay deterministic; the default reads the process environment.
    /// </summary>
    public Func<string, string?> EnvironmentVariables { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Directory that includes in a configuration given as a string are relative to (default: current directory).</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>Deepest nesting of objects and arrays accepted (across includes).</summary>
    public int MaxDepth { get; init; } = 256;

    /// <summary>Longest chain of substitutions and nested values followed while resolving.</summary>
    public int MaxResolveDepth { get; init; } = 512;

    /// <summary>Deepest chain of includes (an include cycle is reported as such before this is reached).</summary>
    public int MaxIncludeDepth { get; init; } = 32;
}
