using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Basis.Cli.Tests;

/// <summary>Starts the real <c>basis</c> executable (built next to the tests) as a child process and watches its progress.</summary>
internal static class BasisProcess
{
    /// <summary>How long a test waits for a run's progress or end.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public static Process Start(string workingDirectory, string[] arguments, StringBuilder output)
    {
        Process process = Process.Start(StartInfo(workingDirectory, arguments)) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static async Task<(int ExitCode, string Output)> RunToEndAsync(string workingDirectory, string[] arguments, CancellationToken cancellation)
    {
        var output = new StringBuilder();
        using Process process = Start(workingDirectory, arguments, output);
        try
        {
            await process.WaitForExitAsync(cancellation).WaitAsync(Timeout, cancellation);
        }
        finally
        {
            KillIfRunning(process);
        }

        process.WaitForExit(); // drains the redirected streams
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    /// <summary>SIGKILL (on Unix) unless the process has already exited.</summary>
    public static void KillIfRunning(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    /// <summary>Polls metrics.csv (written after each step's events commit) until its last complete row reaches <paramref name="step"/>.</summary>
    public static async Task<long> WaitForStepAsync(string metrics, long step, Process process, Random random, CancellationToken cancellation)
    {
        var deadline = Stopwatch.StartNew();
        long last = -1;
        while (deadline.Elapsed < Timeout && !process.HasExited)
        {
            last = LastCompleteStep(metrics);
            if (last >= step)
            {
                return last;
            }

            // A seeded, varying poll interval moves the kill across the phases of a step.
            await Task.Delay(random.Next(0, 6), cancellation);
        }

        return Math.Max(last, LastCompleteStep(metrics));
    }

    private static long LastCompleteStep(string metrics)
    {
        try
        {
            using var stream = new FileStream(metrics, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            string text = new StreamReader(stream).ReadToEnd();
            int end = text.LastIndexOf('\n');
            if (end <= 0)
            {
                return -1;
            }

            int start = text.LastIndexOf('\n', end - 1) + 1;
            string field = text[start..end].Split(',')[0];
            return long.TryParse(field, NumberStyles.Integer, CultureInfo.InvariantCulture, out long step) ? step : -1;
        }
        catch (IOException)
        {
            return -1; // not written yet, or being replaced
        }
    }

    private static ProcessStartInfo StartInfo(string workingDirectory, string[] arguments)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "basis.dll"));
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["BASIS_HOME"] = Path.GetDirectoryName(Path.GetDirectoryName(Cli.Profile("ci.conf")))!;
        return info;
    }

    private static void Append(StringBuilder output, string? line)
    {
        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
