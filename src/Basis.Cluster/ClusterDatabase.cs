using System.Net.Sockets;
using Npgsql;

namespace Basis.Cluster;

/// <summary>The PostgreSQL database the cluster coordinates through, and the clock its rows are stamped with.</summary>
public sealed class ClusterDatabase : IAsyncDisposable
{
    private ClusterDatabase(NpgsqlDataSource dataSource, string target, TimeProvider time)
    {
        DataSource = dataSource;
        Target = target;
        Time = time;
    }

    internal NpgsqlDataSource DataSource { get; }

    /// <summary>postgresql://user@host:port/database (schema); never the password.</summary>
    public string Target { get; }

    public TimeProvider Time { get; }

    internal DateTime Now => Time.GetUtcNow().UtcDateTime;

    /// <summary>Connects and creates the cluster tables when missing.</summary>
    /// <exception cref="ClusterConfigurationException">The connection string is missing or malformed.</exception>
    /// <exception cref="ClusterUnavailableException">The database cannot be reached.</exception>
    public static async Task<ClusterDatabase> OpenAsync(string? connectionString, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ClusterConfigurationException("basis.cluster.connection-string is not set (hocon/cluster.conf takes it from BASIS_PG).");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ClusterConfigurationException($"basis.cluster.connection-string is not a valid PostgreSQL connection string: {e.Message}");
        }

        string target = $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}{(string.IsNullOrEmpty(builder.SearchPath) ? string.Empty : $" (schema {builder.SearchPath})")}";
        NpgsqlDataSource dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        var database = new ClusterDatabase(dataSource, target, time ?? TimeProvider.System);
        try
        {
            await ClusterSchema.EnsureAsync(dataSource, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw new ClusterUnavailableException($"cannot reach the cluster database {target}: {e.Message}", e);
        }

        return database;
    }

    internal static bool IsUnavailable(Exception e) => e is NpgsqlException or SocketException or TimeoutException;

    internal ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken) => DataSource.OpenConnectionAsync(cancellationToken);

    internal NpgsqlCommand Command(string sql) => DataSource.CreateCommand(sql);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}

/// <summary>The cluster database cannot be reached; the message names it (without the password).</summary>
public sealed class ClusterUnavailableException(string message, Exception inner) : Exception(message, inner);
