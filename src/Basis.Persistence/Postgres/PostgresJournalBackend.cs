using System.Net.Sockets;
using Npgsql;
using NpgsqlTypes;

namespace Basis.Persistence.Postgres;

/// <summary>
/// PostgreSQL back end over an <see cref="NpgsqlDataSource"/>. A batch allocates its orderings from the
/// identity sequence, then binary-COPYs the events and their tags in one transaction. Batches commit
/// concurrently, so orderings become visible out of order: exactly the gaps <see cref="GapRule"/> waits on.
/// </summary>
internal sealed class PostgresJournalBackend : IJournalBackend
{
    private const string EventColumns = "ordering, persistence_id, sequence_number, created, manifest, payload, writer_uuid, deleted";
    private const string QualifiedEventColumns =
        "j.ordering, j.persistence_id, j.sequence_number, j.created, j.manifest, j.payload, j.writer_uuid, j.deleted";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private string? _orderingSequence;

    public PostgresJournalBackend(string connectionString, TimeProvider time)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Invalid PostgreSQL connection string: {ex.Message}", nameof(connectionString), ex);
        }

        Target = DescribeTarget(builder);

        // Replay is read-bound: a 64 KiB read buffer takes a page of events in a few reads instead of dozens, and
        // auto-preparing the few query shapes the journal repeats saves the server a parse and plan per page.
        // Either is left alone when the connection string sets it.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("Read Buffer Size") && !given.ContainsKey("ReadBufferSize"))
        {
            builder.ReadBufferSize = 64 * 1024;
        }

        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 16;
            builder.AutoPrepareMinUsages = 2;
        }

        _dataSource = NpgsqlDataSource.Create(builder);
        _time = time;
    }

    public string Target { get; }

    public int MaxConcurrentWrites => int.MaxValue;

    /// <summary>host:port/database as user, plus the search path: everything but the password.</summary>
    public static string DescribeTarget(NpgsqlConnectionStringBuilder builder)
    {
        string target = $"postgresql://{builder.Username ?? "(default user)"}@{builder.Host}:{builder.Port}/{builder.Database ?? "(default database)"}";
        return string.IsNullOrEmpty(builder.SearchPath) ? target : $"{target} (search path {builder.SearchPath})";
    }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, null, PostgresSchema.LockMigrations, cancellationToken).ConfigureAwait(false);
            try
            {
                await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, PostgresSchema.CreateVersionTable, cancellationToken).ConfigureAwait(false);
                var applied = new HashSet<int>();
                await using (var select = new NpgsqlCommand("SELECT version FROM schema_version", connection, transaction))
                await using (NpgsqlDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        applied.Add(reader.GetInt32(0));
                    }
                }

                foreach (Migration migration in PostgresSchema.Migrations)
                {
                    if (applied.Contains(migration.Version))
                    {
                        continue;
                    }

                    await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
                    await using var record = new NpgsqlCommand(
                        "INSERT INTO schema_version (version, applied_at, description) VALUES (@version, @applied, @description)", connection, transaction);
                    record.Parameters.AddWithValue("version", migration.Version);
                    record.Parameters.AddWithValue("applied", _time.GetUtcNow().UtcDateTime);
                    record.Parameters.AddWithValue("description", migration.Description);
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await ExecuteAsync(connection, null, PostgresSchema.UnlockMigrations, CancellationToken.None).ConfigureAwait(false);
            }

            await using var sequence = new NpgsqlCommand("SELECT pg_get_serial_sequence('journal', 'ordering')", connection);
            _orderingSequence = (string?)await sequence.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The journal table at {Target} has no identity sequence on 'ordering'.");
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new JournalUnavailableException(Target, ex);
        }
    }

    public async Task<IReadOnlyList<AppliedMigration>> ReadSchemaVersionsAsync(CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT version, applied_at, description FROM schema_version ORDER BY version", connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<AppliedMigration>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new AppliedMigration(reader.GetInt32(0), new DateTimeOffset(reader.GetFieldValue<DateTime>(1), TimeSpan.Zero), reader.GetString(2)));
        }

        return result;
    }

    public async Task<long[]> WriteAsync(IReadOnlyList<SerializedEvent> events, Guid writerUuid, long createdMicros, CancellationToken cancellationToken)
    {
        string sequence = _orderingSequence ?? throw new InvalidOperationException("The journal schema has not been migrated.");
        try
        {
            await using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            var orderings = new long[events.Count];
            await using (var allocate = new NpgsqlCommand("SELECT nextval($1::regclass) FROM generate_series(1, $2)", connection))
            {
                allocate.Parameters.Add(new NpgsqlParameter { Value = sequence });
                allocate.Parameters.Add(new NpgsqlParameter { Value = events.Count });
                await using NpgsqlDataReader reader = await allocate.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                int i = 0;
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    orderings[i++] = reader.GetInt64(0);
                }
            }

            // Events get ascending orderings in batch order, so one stream's events stay in sequence order.
            Array.Sort(orderings);
            DateTime created = UnixMicrosToUtc(createdMicros);
            bool anyTags = false;
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (NpgsqlBinaryImporter importer = await connection.BeginBinaryImportAsync(
                "COPY journal (ordering, persistence_id, sequence_number, created, manifest, payload, writer_uuid) FROM STDIN (FORMAT BINARY)",
                cancellationToken).ConfigureAwait(false))
            {
                for (int i = 0; i < events.Count; i++)
                {
                    SerializedEvent e = events[i];
                    anyTags |= e.Tags is { Count: > 0 };
                    await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                    await importer.WriteAsync(orderings[i], NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    await importer.WriteAsync(e.PersistenceId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await importer.WriteAsync(e.SequenceNumber, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    await importer.WriteAsync(created, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
                    await importer.WriteAsync(e.Manifest, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await importer.WriteAsync(e.Payload, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                    await importer.WriteAsync(writerUuid, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
                }

                await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            if (anyTags)
            {
                await using NpgsqlBinaryImporter importer = await connection.BeginBinaryImportAsync(
                    "COPY event_tag (tag, ordering) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
                for (int i = 0; i < events.Count; i++)
                {
                    if (events[i].Tags is not { } tags)
                    {
                        continue;
                    }

                    foreach (string tag in tags)
                    {
                        await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync(tag, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync(orderings[i], NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    }
                }

                await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return orderings;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == PostgresSchema.SequenceConflictConstraint)
        {
            throw new SequenceConflictException(ex);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new JournalUnavailableException(Target, ex);
        }
    }

    // The stream's own id is not read back: every row carries the one the caller passed.
    public Task<List<StoredEvent>> ReadByPersistenceIdAsync(string persistenceId, long afterSequenceNumber, long toSequenceNumber, int limit, CancellationToken cancellationToken) =>
        ReadEventsAsync(
            """
            SELECT ordering, $1, sequence_number, created, manifest, payload, writer_uuid, deleted FROM journal
            WHERE persistence_id = $1 AND sequence_number > $2 AND sequence_number <= $3
            ORDER BY sequence_number LIMIT $4
            """,
            [persistenceId, afterSequenceNumber, toSequenceNumber, limit],
            cancellationToken,
            persistenceId);

    public Task<List<StoredEvent>> ReadAllAsync(long afterOrdering, int limit, CancellationToken cancellationToken) =>
        ReadEventsAsync($"SELECT {EventColumns} FROM journal WHERE ordering > $1 ORDER BY ordering LIMIT $2", [afterOrdering, limit], cancellationToken);

    public Task<List<StoredEvent>> ReadByTagAsync(string tag, long afterOrdering, long toOrdering, CancellationToken cancellationToken) =>
        ReadEventsAsync(
            $"""
            SELECT {QualifiedEventColumns} FROM event_tag t JOIN journal j ON j.ordering = t.ordering
            WHERE t.tag = $1 AND t.ordering > $2 AND t.ordering <= $3 AND NOT j.deleted
            ORDER BY t.ordering
            """,
            [tag, afterOrdering, toOrdering],
            cancellationToken);

    public async Task<List<PositionStamp>> ReadOrderingsAsync(long afterOrdering, int limit, CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT ordering, created FROM journal WHERE ordering > $1 ORDER BY ordering LIMIT $2", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = afterOrdering });
            command.Parameters.Add(new NpgsqlParameter { Value = limit });
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var result = new List<PositionStamp>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(new PositionStamp(reader.GetInt64(0), UtcToUnixMicros(reader.GetFieldValue<DateTime>(1))));
            }

            return result;
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new JournalUnavailableException(Target, ex);
        }
    }

    public Task<long> MaxOrderingAsync(CancellationToken cancellationToken) =>
        ScalarAsync("SELECT COALESCE(MAX(ordering), 0) FROM journal", [], cancellationToken);

    public Task<long> HighestSequenceNumberAsync(string persistenceId, CancellationToken cancellationToken) =>
        ScalarAsync("SELECT COALESCE(MAX(sequence_number), 0) FROM journal WHERE persistence_id = $1", [persistenceId], cancellationToken);

    public Task DeleteEventsToAsync(string persistenceId, long toSequenceNumber, CancellationToken cancellationToken) =>
        NonQueryAsync(
            "UPDATE journal SET deleted = TRUE WHERE persistence_id = $1 AND sequence_number <= $2 AND NOT deleted",
            [persistenceId, toSequenceNumber],
            cancellationToken);

    public Task SaveSnapshotAsync(StoredSnapshot snapshot, CancellationToken cancellationToken) =>
        NonQueryAsync(
            """
            INSERT INTO snapshot (persistence_id, sequence_number, created, manifest, payload) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (persistence_id, sequence_number)
            DO UPDATE SET created = excluded.created, manifest = excluded.manifest, payload = excluded.payload
            """,
            [snapshot.PersistenceId, snapshot.SequenceNumber, UnixMicrosToUtc(snapshot.CreatedMicros), snapshot.Manifest, snapshot.Payload],
            cancellationToken);

    public Task DeleteSnapshotsToAsync(string persistenceId, long maxSequenceNumber, CancellationToken cancellationToken) =>
        NonQueryAsync("DELETE FROM snapshot WHERE persistence_id = $1 AND sequence_number <= $2", [persistenceId, maxSequenceNumber], cancellationToken);

    public async Task<StoredSnapshot?> LoadSnapshotAsync(string persistenceId, long maxSequenceNumber, CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(
                """
                SELECT persistence_id, sequence_number, created, manifest, payload FROM snapshot
                WHERE persistence_id = $1 AND sequence_number <= $2
                ORDER BY sequence_number DESC LIMIT 1
                """,
                connection);
            command.Parameters.Add(new NpgsqlParameter { Value = persistenceId });
            command.Parameters.Add(new NpgsqlParameter { Value = maxSequenceNumber });
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return new StoredSnapshot(
                reader.GetString(0), reader.GetInt64(1), UtcToUnixMicros(reader.GetFieldValue<DateTime>(2)), reader.GetString(3), reader.GetFieldValue<byte[]>(4));
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new JournalUnavailableException(Target, ex);
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static DateTime UnixMicrosToUtc(long micros) =>
        new(DateTime.UnixEpoch.Ticks + (micros * TimeSpan.TicksPerMicrosecond), DateTimeKind.Utc);

    private static long UtcToUnixMicros(DateTime utc) => (utc.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
        {
            // Failing to open a connection at all, for whatever reason, means the journal cannot be reached.
            throw new JournalUnavailableException(Target, ex);
        }
    }

    private static NpgsqlCommand Command(string sql, NpgsqlConnection connection, object[] values)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (object value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    /// <param name="persistenceId">When every row belongs to one stream: its id, used instead of reading column 1.</param>
    private async Task<List<StoredEvent>> ReadEventsAsync(string sql, object[] values, CancellationToken cancellationToken, string? persistenceId = null)
    {
        try
        {
            await using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlCommand command = Command(sql, connection, values);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var result = new List<StoredEvent>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(new StoredEvent(
                    reader.GetInt64(0),
                    persistenceId ?? reader.GetString(1),
                    reader.GetInt64(2),
                    UtcToUnixMicros(reader.GetFieldValue<DateTime>(3)),
                    reader.GetString(4),
                    reader.GetFieldValue<byte[]>(5),
                    reader.GetGuid(6),
                    reader.GetBoolean(7)));
            }

            return result;
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new JournalUnavailableException(Target, ex);
        }
    }

    private async Task<long> ScalarAsync(string sql, object[] values, CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlCommand command = Command(sql, connection, values);
            return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new JournalUnavailableException(Target, ex);
        }
    }

    private async Task NonQueryAsync(string sql, object[] values, CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlCommand command = Command(sql, connection, values);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new JournalUnavailableException(Target, ex);
        }
    }
}
