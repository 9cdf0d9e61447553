namespace Basis.Testing;

/// <summary>
/// Files the tests read from the repository itself (a clone is all a test run has): the root is the first
/// ancestor of the test binaries that holds Basis.Actors.sln. Linked into the test projects that need it.
/// </summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository's root folder.</summary>
    public static string Root => s_root.Value;

    /// <summary>A path under the repository's data/ folder (GSM8K, the HOCON conformance sets), which must exist.</summary>
    public static string Data(params string[] parts)
    {
        string path = Path.Combine([Root, "data", .. parts]);
        if (!Directory.Exists(path) && !File.Exists(path))
        {
            throw new FileNotFoundException($"the repository has no {Path.GetRelativePath(Root, path)}", path);
        }

        return path;
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Basis.Actors.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Basis.Actors.sln above {AppContext.BaseDirectory}");
    }
}
