using System.Text;

namespace Basis.Hocon.Parsing;

/// <summary>Reads configuration files and carries out includes, refusing cycles and over-deep include chains.</summary>
internal sealed class IncludeContext
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly string[] s_extensions = [".properties", ".json", ".conf"];

    private readonly List<string> _stack = [];

    public IncludeContext(HoconLoadSettings settings) => Settings = settings;

    public HoconLoadSettings Settings { get; }

    /// <summary>Parses one file, choosing the syntax by its extension (.properties, .json, otherwise HOCON).</summary>
    public ObjectNode ParseFile(string path, string[] basePath, int depth, HoconOrigin? includedFrom)
    {
        string fullPath = Path.GetFullPath(path);
        if (_stack.Contains(fullPath, StringComparer.Ordinal))
        {
            string chain = string.Join(" -> ", _stack.Select(Path.GetFileName).Append(Path.GetFileName(fullPath)));
            throw new HoconException(includedFrom ?? new HoconOrigin(path, 0, 0), $"include cycle: {chain}");
        }

        if (_stack.Count >= Settings.MaxIncludeDepth)
        {
            throw new HoconException(includedFrom ?? new HoconOrigin(path, 0, 0), $"includes are nested more than {Settings.MaxIncludeDepth} files deep");
        }

        string text = ReadText(path);
        _stack.Add(fullPath);
        try
        {
            string? directory = Path.GetDirectoryName(fullPath);
            return Path.GetExtension(path).Equals(".properties", StringComparison.OrdinalIgnoreCase)
                ? PropertiesParser.Parse(text, path, basePath)
                : HoconParser.Parse(text, path, directory, basePath, this, depth);
        }
        finally
        {
            _stack.RemoveAt(_stack.Count - 1);
        }
    }

    public void Include(IncludeSpec spec, string? directory, ObjectNode target, string[] path, int depth)
    {
        switch (spec.Kind)
        {
            case IncludeKind.Url:
            case IncludeKind.Heuristic when spec.Name.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
                || spec.Name.StartsWith("https://", StringComparison.OrdinalIgnoreCase):
                throw new HoconException(spec.Origin, $"include url(\"{spec.Name}\") is not supported: configuration is read only from local files; download it and use include file(\"...\")");
            case IncludeKind.Classpath:
                throw new HoconException(spec.Origin, $"include classpath(\"{spec.Name}\") is not supported (.NET has no classpath); use include file(\"...\") with a path relative to this file");
        }

        string resolved = Path.IsPathRooted(spec.Name) ? spec.Name : Path.Combine(directory ?? Settings.BaseDirectory ?? Environment.CurrentDirectory, spec.Name);
        List<string> candidates = FindCandidates(resolved);
        if (candidates.Count == 0)
        {
            if (spec.Required)
            {
                throw new HoconException(spec.Origin, $"required include \"{spec.Name}\" not found (looked for {resolved}{(HasKnownExtension(resolved) ? "" : " with .conf, .json and .properties")})");
            }

            return;
        }

        // Lowest priority first, so that .conf overrides .json overrides .properties, as the HOCON spec asks.
        foreach (string candidate in candidates)
        {
            ObjectNode included = ParseFile(candidate, path, depth, spec.Origin);
            foreach (var (key, value) in included.Fields)
            {
                NodeMerger.Assign(target, key, value);
            }
        }
    }

    private static List<string> FindCandidates(string path)
    {
        if (HasKnownExtension(path))
        {
            return File.Exists(path) ? [path] : [];
        }

        var found = s_extensions.Select(extension => path + extension).Where(File.Exists).ToList();
        if (found.Count == 0 && File.Exists(path))
        {
            found.Add(path);
        }

        return found;
    }

    private static bool HasKnownExtension(string path)
        => s_extensions.Any(extension => path.EndsWith(extension, StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads a file as strict UTF-8 so that a binary file is reported as such rather than parsed as garbage.</summary>
    public static string ReadText(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HoconException(new HoconOrigin(path, 0, 0), $"cannot read the file: {e.Message}", e);
        }

        try
        {
            ReadOnlySpan<byte> span = bytes;
            if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                span = span[3..];
            }

            return s_strictUtf8.GetString(span);
        }
        catch (DecoderFallbackException e)
        {
            int index = Math.Clamp(e.Index, 0, bytes.Length);
            int line = 1 + bytes.AsSpan(0, index).Count((byte)'\n');
            int column = index - (bytes.AsSpan(0, index).LastIndexOf((byte)'\n') + 1) + 1;
            throw new HoconException(new HoconOrigin(path, line, column), "the file is not valid UTF-8 text (is it a binary file?)", e);
        }
    }
}
