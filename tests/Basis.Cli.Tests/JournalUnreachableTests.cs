using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Basis.Tests.Shared;
using Npgsql;
using Xunit;

namespace Basis.Cli.Tests;

/// <summary>
/// <c>basis train</c> against a journal database that cannot be reached, or that goes away mid-run, fails
/// loudly (exit 1, the database named, no stack trace) and leaves what it committed intact and resumable.
/// </summary>
public sealed class JournalUnreachableTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("basis-unreachable-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void TrainingAgainstADeadPostgresPortExitsWith1NamingTheDatabase()
    {
        int port = DeadPort();
        string config = Path.Combine(_directory, "dead.conf");
        File.WriteAllText(config, $"basis.journal {{ provider = postgres, connection-string = \"Host=127.0.0.1;Port={port};Username=postgres;Password=secret;Database=basis_journal;Timeout=5\" }}\n");

        (int exitCode, _, string error) = Cli.Run("train", "--config", Cli.Profile("ci.conf"), "--config", config, "--run-dir", Path.Combine(_directory, "run"));

        Assert.Equal(1, exitCode);
        Assert.Contains($"postgresql://postgres@127.0.0.1:{port}/basis_journal", error, StringComparison.Ordinal);
        Assert.Contains("unreachable", error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APostgresServerThatGoesAwayMidRunFailsTheRunAndLeavesWholeStepsThatResume()
    {
        string server = Environment.GetEnvironmentVariable("BASIS_TEST_POSTGRES") is { Length: > 0 } given
            ? given
            : throw new InvalidOperationException("BASIS_TEST_POSTGRES is not set; tests/run starts a PostgreSQL server and exports it.");
        CancellationToken cancellation = TestContext.Current.CancellationToken;
        string schema = $"basis_outage_{Guid.NewGuid():N}";
        await ExecuteAsync(server, $"CREATE SCHEMA {schema}", cancellation);
        try
        {
            var direct = new NpgsqlConnectionStringBuilder(server) { SearchPath = schema };
            await using var relay = new TcpForwarder(direct.Host!, direct.Port);
            var relayed = new NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = relay.Port };
            string config = Path.Combine(_directory, "outage.conf");
            File.WriteAllText(config, $$"""
                include "{{Cli.Profile("ci.conf").Replace("\\", "/", StringComparison.Ordinal)}}"
                basis.train.steps = 400
                basis.journal { provider = postgres, connection-string = "{{relayed.ConnectionString}}", snapshot-every = 2 }
                """);

            var log = new StringBuilder();
            using Process process = BasisProcess.Start(_directory, ["train", "--config", config, "--run-dir", "run"], log);
            try
            {
                long reached = await BasisProcess.WaitForStepAsync(Path.Combine(_directory, "run", "metrics.csv"), 3, process, new Random(3), cancellation);
                Assert.True(reached >= 3 && !process.HasExited, log.ToString());
                await relay.DisposeAsync(); // the server goes away
                await process.WaitForExitAsync(cancellation).WaitAsync(BasisProcess.Timeout, cancellation);
            }
            finally
            {
                BasisProcess.KillIfRunning(process);
            }

            process.WaitForExit();

            string output = log.ToString();
            Assert.True(process.ExitCode == 1, output);
            Assert.Contains($"postgresql://{relayed.Username}@127.0.0.1:{relay.Port}/{relayed.Database} (search path {schema})", output, StringComparison.Ordinal);
            Assert.Contains("unreachable", output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);

            // Every committed step is whole, and the run resumes from them against the server itself.
            (int steps, int rollouts, int policies) = await CountAsync(direct.ConnectionString, cancellation);
            Assert.True(steps >= 3, $"{steps} steps committed");
            Assert.Equal(steps * 8, rollouts);
            Assert.InRange(policies, steps - 1, steps);
            string resume = Path.Combine(_directory, "resume.conf");
            File.WriteAllText(resume, $"include \"{config.Replace("\\", "/", StringComparison.Ordinal)}\"\nbasis.train.steps = {steps + 3}\nbasis.journal.connection-string = \"{direct.ConnectionString}\"\n");
            (int exit, string resumed) = await BasisProcess.RunToEndAsync(_directory, ["train", "--resume", "run", "--config", resume], cancellation);
            Assert.True(exit == 0, resumed);
            Assert.Equal((steps + 3, (steps + 3) * 8, steps + 3), await CountAsync(direct.ConnectionString, cancellation));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(server, $"DROP SCHEMA {schema} CASCADE", CancellationToken.None);
        }
    }

    private static async Task<(int Steps, int Rollouts, int Policies)> CountAsync(string connectionString, CancellationToken cancellation)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellation);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FILTER (WHERE manifest = 'BatchFormed.v1'), count(*) FILTER (WHERE manifest = 'RolloutGenerated.v1'), count(*) FILTER (WHERE manifest = 'PolicyUpdated.v1') FROM journal",
            connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellation);
        Assert.True(await reader.ReadAsync(cancellation));
        return ((int)reader.GetInt64(0), (int)reader.GetInt64(1), (int)reader.GetInt64(2));
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellation)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellation);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellation);
    }

    /// <summary>A loopback port nothing listens on: bound, then released.</summary>
    private static int DeadPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
