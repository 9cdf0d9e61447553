namespace Basis.Dashboard;

/// <summary>What <c>basis serve</c> serves and where.</summary>
public sealed class DashboardOptions
{
    public const int DefaultPort = 6060;
    public const string DefaultHost = "127.0.0.1";

    /// <summary>The run folder (metrics.csv, queues.csv, summary.json and, by default, journal.db).</summary>
    public required string RunFolder { get; init; }

    /// <summary>An IP address or "localhost"; the loopback address by default, so the dashboard is not on the network unless asked.</summary>
    public string Host { get; init; } = DefaultHost;

    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The journal's provider when it is not the run folder's journal.db (a cluster run's PostgreSQL journal).</summary>
    public string? JournalProvider { get; init; }

    public string? JournalConnectionString { get; init; }

    /// <summary>How often live journal queries and the CSV files are read for another process's writes.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The nodes panel's source; null: the run's single embedded node.</summary>
    public INodeStatusSource? Nodes { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>The dashboard cannot start: the message is for the user, the exit code for the shell.</summary>
public sealed class DashboardStartupException : Exception
{
    public DashboardStartupException(string message, int exitCode, Exception? inner = null)
        : base(message, inner)
    {
        ExitCode = exitCode;
    }

    /// <summary>2: the run folder or its journal is missing (bad input); 1: the server cannot listen.</summary>
    public int ExitCode { get; }
}
