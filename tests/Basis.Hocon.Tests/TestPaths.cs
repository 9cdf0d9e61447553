using Basis.Testing;

namespace Basis.Hocon.Tests;

internal static class TestPaths
{
    /// <summary>The reference implementation's equivalence sets, kept in the repository's data/ folder.</summary>
    public static string ConformanceDirectory => RepositoryPaths.Data("hocon-conformance");

    /// <summary>The repository's hocon/ folder.</summary>
    public static string HoconDirectory => FindUpwards(Path.Combine("hocon", "reference.conf")) is { } reference
        ? Path.GetDirectoryName(reference)!
        : throw new InvalidOperationException($"cannot find hocon/reference.conf above {AppContext.BaseDirectory}");

    private static string? FindUpwards(string relative)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, relative);
            if (Directory.Exists(candidate) || File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A scratch directory deleted when the test ends.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("basis-hocon-").FullName;
    }

    public string Path { get; }

    public string Write(string relativePath, string content)
    {
        string full = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
