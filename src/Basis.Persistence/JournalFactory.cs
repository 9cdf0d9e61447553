using Basis.Persistence.Postgres;
using Basis.Persistence.Serialization;
using Basis.Persistence.Sqlite;
using Microsoft.Data.Sqlite;

namespace Basis.Persistence;

/// <summary>Opens an <see cref="EventJournal"/> from a provider name and a connection string, migrating the schema first.</summary>
public static class JournalFactory
{
    /// <summary>The providers <see cref="CreateAsync"/> accepts (case-insensitive).</summary>
    public static IReadOnlyList<string> Providers { get; } = ["sqlite", "postgresql", "postgres", "npgsql"];

    /// <summary>
    /// Opens the journal and applies missing schema migrations (idempotent; safe for concurrent starters).
    /// </summary>
    /// <param name="provider">"sqlite" or "postgresql" (aliases "postgres", "npgsql").</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite or Npgsql connection string.</param>
    /// <exception cref="JournalUnavailableException">The database cannot be reached.</exception>
    public static async Task<EventJournal> CreateAsync(
        string provider,
        string connectionString,
        EventSerializerRegistry serializers,
        JournalOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(serializers);
        options ??= new JournalOptions();
        options.Validate();
        IJournalBackend backend = provider.Trim().ToLowerInvariant() switch
        {
            "sqlite" => new SqliteJournalBackend(connectionString, options.TimeProvider),
            "postgresql" or "postgres" or "npgsql" => new PostgresJournalBackend(connectionString, options.TimeProvider),
            _ => throw new ArgumentException(
                $"Unknown journal provider '{provider}'; expected one of: {string.Join(", ", Providers)}.", nameof(provider)),
        };

        try
        {
            await backend.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await backend.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new EventJournal(backend, serializers, options);
    }

    /// <summary>The SQLite connection string for the journal file of a run folder (<c>journal.db</c>).</summary>
    public static string SqliteConnectionStringForRunFolder(string runFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runFolder);
        return new SqliteConnectionStringBuilder { DataSource = Path.Combine(runFolder, "journal.db") }.ToString();
    }
}
