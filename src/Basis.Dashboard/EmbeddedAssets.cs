using System.Collections.Frozen;
using System.Reflection;

namespace Basis.Dashboard;

/// <summary>The page's files, compiled into this assembly (wwwroot/), so the dashboard needs nothing beside the executable.</summary>
internal static class EmbeddedAssets
{
    private static readonly FrozenDictionary<string, string> s_contentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, byte[]> s_files = Load();

    public static IEnumerable<string> Names => s_files.Keys;

    public static bool TryGet(string name, out byte[] content, out string contentType)
    {
        contentType = s_contentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
        return s_files.TryGetValue(name, out content!);
    }

    private static FrozenDictionary<string, byte[]> Load()
    {
        const string Prefix = "wwwroot/";
        Assembly assembly = typeof(EmbeddedAssets).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            files[resource[Prefix.Length..].Replace('\\', '/')] = memory.ToArray();
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
