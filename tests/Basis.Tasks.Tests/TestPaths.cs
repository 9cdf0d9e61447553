using Basis.Testing;

namespace Basis.Tasks.Tests;

internal static class TestPaths
{
    /// <summary>The repository's data/ folder (GSM8K and its licence).</summary>
    public static string Data() => RepositoryPaths.Data();
}

/// <summary>A scratch folder removed when the test ends.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "basis-tasks-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
