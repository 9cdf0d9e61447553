using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;

namespace Basis.Model.Torch;

/// <summary>The torchsharp backend cannot run here; the message is one line saying why and what to do.</summary>
public sealed class PolicyBackendUnavailableException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

/// <summary>Loads libtorch once and, when it cannot load, says which library version is missing and how to get it.</summary>
public static partial class LibTorchProbe
{
    /// <summary>The libstdc++ symbol version <c>libLibTorchSharp.so</c> of TorchSharp 0.107 needs (GCC 13).</summary>
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    private static readonly string[] LibstdcxxPaths =
    [
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6",
        "/usr/lib/libstdc++.so.6",
    ];

    private static readonly Lock Gate = new();
    private static PolicyBackendUnavailableException? s_failure;
    private static bool s_loaded;

    /// <summary>Loads libtorch for <paramref name="device"/> (cpu or cuda).</summary>
    /// <exception cref="PolicyBackendUnavailableException">The native library did not load, or the device is not there.</exception>
    public static torch.Device Require(string device)
    {
        lock (Gate)
        {
            if (!s_loaded && s_failure is null)
            {
                // TorchSharp prints its own account of a failed load to standard output; the one line below replaces it.
                TextWriter output = Console.Out;
                Console.SetOut(TextWriter.Null);
                try
                {
                    PreferPassiveThreads();
                    torch.InitializeDeviceType(DeviceType.CPU);
                    s_loaded = true;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    s_failure = new PolicyBackendUnavailableException(Diagnose(LoadedLibstdcxx() ?? LibstdcxxPaths.FirstOrDefault(File.Exists), e), e);
                }
                finally
                {
                    Console.SetOut(output);
                }
            }

            if (s_failure is not null)
            {
                throw s_failure;
            }
        }

        return device switch
        {
            "cpu" => torch.CPU,
            "cuda" when torch.cuda.is_available() => torch.CUDA,
            "cuda" => throw new PolicyBackendUnavailableException(
                "basis.model.device = cuda, but this TorchSharp build has no CUDA device (TorchSharp-cpu is referenced; a GPU needs TorchSharp-cuda-linux, see deploy/Dockerfile.gpu and docs/model-backends.md)."),
            _ => throw new PolicyBackendUnavailableException($"basis.model.device must be cpu or cuda, not '{device}'."),
        };
    }

    /// <summary>
    /// Why libtorch did not load, in one line: the highest GLIBCXX version of the system's libstdc++ at
    /// <paramref name="libstdcxxPath"/> when it lacks <see cref="RequiredGlibcxx"/>, else the loader's own message.
    /// </summary>
    public static string Diagnose(string? libstdcxxPath, Exception loadError)
    {
        ArgumentNullException.ThrowIfNull(loadError);
        const string Fix = "on Debian 12 run tests/scripts/libstdcxx.sh as root (libstdc++6 from Debian 13), or use a GCC 13+ base image such as deploy/Dockerfile.gpu's; see docs/model-backends.md";
        if (libstdcxxPath is not null && File.Exists(libstdcxxPath))
        {
            string? highest = HighestGlibcxx(File.ReadAllBytes(libstdcxxPath));
            if (highest is not null && Compare(highest, RequiredGlibcxx) < 0)
            {
                return $"the torchsharp backend needs {RequiredGlibcxx} (libstdc++ of GCC 13 or newer) and {libstdcxxPath} stops at {highest}: {Fix}.";
            }
        }

        Exception root = loadError;
        while (root.InnerException is not null)
        {
            root = root.InnerException;
        }

        // The loader's first line names what failed; the rest is its search trace.
        string reason = root.Message.Trim().Split('\n', 2)[0].Trim();
        return $"the torchsharp backend could not load libtorch ({reason}); it needs {RequiredGlibcxx}: {Fix}.";
    }

    /// <summary>
    /// libtorch's OpenMP threads spin at every barrier by default. Where they share cores (the learner beside the
    /// generators, or a busy machine) a spinning thread that loses its core stalls every operation: on 2 busy cores a
    /// learner step took 10 times longer. Passive waiting puts them to sleep instead. It must be in the process
    /// environment before libgomp loads (.NET's Environment.SetEnvironmentVariable does not reach native getenv on
    /// Unix); a value the user set is kept.
    /// </summary>
    private static void PreferPassiveThreads()
    {
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
        {
            _ = SetEnvironment("OMP_WAIT_POLICY", "PASSIVE", 0);
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);

    /// <summary>The libstdc++ this process runs with (the .NET runtime loads one), from <c>/proc/self/maps</c>; null elsewhere.</summary>
    private static string? LoadedLibstdcxx()
    {
        const string Maps = "/proc/self/maps";
        if (!File.Exists(Maps))
        {
            return null;
        }

        return File.ReadLines(Maps)
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is int at and >= 0 ? line[at..] : null)
            .FirstOrDefault(path => path is not null && Path.GetFileName(path).StartsWith("libstdc++.so", StringComparison.Ordinal));
    }

    /// <summary>The highest <c>GLIBCXX_3.4.N</c> version string in a libstdc++ binary, or null.</summary>
    internal static string? HighestGlibcxx(byte[] library)
    {
        string text = Encoding.Latin1.GetString(library);
        return GlibcxxVersion().Matches(text).Select(m => m.Value).Distinct().OrderByDescending(v => v, Comparer<string>.Create(Compare)).FirstOrDefault();
    }

    private static int Compare(string a, string b)
    {
        int[] x = Parts(a), y = Parts(b);
        for (int i = 0; i < Math.Max(x.Length, y.Length); i++)
        {
            int c = (i < x.Length ? x[i] : 0).CompareTo(i < y.Length ? y[i] : 0);
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }

    private static int[] Parts(string version) => [.. version["GLIBCXX_".Length..].Split('.').Select(int.Parse)];

    [GeneratedRegex(@"GLIBCXX_3\.4(\.[0-9]+)?(?![0-9.])")]
    private static partial Regex GlibcxxVersion();
}
