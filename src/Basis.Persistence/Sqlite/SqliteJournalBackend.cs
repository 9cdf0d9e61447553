using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Basis.Persistence.Sqlite;

/// <summary>
/// SQLite back end: one file (WAL mode, synchronous=NORMAL). SQLite admits one writer at a time, so all
/// writes share one long-lived connection with prepared statements; reads use pooled connections, which
/// WAL lets run while a write commits.
/// </summary>
internal sealed class SqliteJournalBackend : IJournalBackend
{
    private const int SqliteBusy = 5;
    private const int SqliteReadOnly = 8;
    private const int SqliteIoError = 10;
    private const int SqliteFull = 13;
    private const int SqliteCantOpen = 14;
    private const int SqliteConstraint = 19;
    private const int SqliteNotADatabase = 26;
    private const int BusyTimeoutMilliseconds = 5000;
    // Microsoft.Data.Sqlite binds each parameter by name, a linear search in SQLite, so the cost of a
    // multi-row INSERT grows with the square of its parameter count: 20 rows (82 parameters) per statement
    // cost about two thirds of the CPU per event of 100 rows in the backend-only bench.
    private const int RowsPerInsert = 20;
    private const string EventColumns = "ordering, persistence_id, sequence_number, created, manifest, payload, writer_uuid, deleted";
    private const string QualifiedEventColumns =
        "j.ordering, j.persistence_id, j.sequence_number, j.created, j.manifest, j.payload, j.writer_uuid, j.deleted";

    private readonly string _connectionString;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;
    private readonly Dictionary<int, SqliteCommand> _insertEvents = [];
    private SqliteCommand? _insertTag;

    public SqliteJournalBackend(string connectionString, TimeProvider time)
    {
        SqliteConnectionStringBuilder builder;
        try
        {
            builder = new SqliteConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Invalid SQLite connection string: {ex.Message}", nameof(connectionString), ex);
        }

        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException("The SQLite connection string names no Data Source (the journal file).", nameof(connectionString));
        }

        builder.Pooling = true;
        builder.DefaultTimeout = BusyTimeoutMilliseconds / 1000;
        _connectionString = builder.ToString();
        _time = time;
        Target = $"sqlite:{builder.DataSource}";
    }

    public string Target { get; }

    public int MaxConcurrentWrites => 1;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SqliteConnection connection = OpenWriter();
            using (SqliteCommand wal = connection.CreateCommand())
            {
                wal.CommandText = "PRAGMA journal_mode=WAL;";
                wal.ExecuteNonQuery();
            }

            // BEGIN IMMEDIATE takes the write lock first, so concurrent starters apply each migration once.
            using SqliteTransaction transaction = connection.BeginTransaction(deferred: false);
            Execute(connection, transaction, SqliteSchema.CreateVersionTable);
            var applied = new HashSet<long>();
            using (SqliteCommand select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = "SELECT version FROM schema_version";
                using SqliteDataReader reader = select.ExecuteReader();
                while (reader.Read())
                {
                    applied.Add(reader.GetInt64(0));
                }
            }

            foreach (Migration migration in SqliteSchema.Migrations)
            {
                if (applied.Contains(migration.Version))
                {
                    continue;
                }

                Execute(connection, transaction, migration.Sql);
                using SqliteCommand record = connection.CreateCommand();
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_version (version, applied_at, description) VALUES ($version, $applied, $description)";
                record.Parameters.AddWithValue("$version", migration.Version);
                record.Parameters.AddWithValue("$applied", UnixMicros.From(_time.GetUtcNow()));
                record.Parameters.AddWithValue("$description", migration.Description);
                record.ExecuteNonQuery();
            }

            transaction.Commit();
            PrepareWriteCommands(connection);
        }
        catch (SqliteException ex) when (IsUnavailable(ex))
        {
            ResetWriter();
            throw new JournalUnavailableException(Target, ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyList<AppliedMigration>> ReadSchemaVersionsAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT version, applied_at, description FROM schema_version ORDER BY version";
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<AppliedMigration>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new AppliedMigration(reader.GetInt32(0), UnixMicros.ToDateTimeOffset(reader.GetInt64(1)), reader.GetString(2)));
        }

        return result;
    }

    public async Task<long[]> WriteAsync(IReadOnlyList<SerializedEvent> events, Guid writerUuid, long createdMicros, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SqliteConnection connection = OpenWriter();
            using SqliteTransaction transaction = connection.BeginTransaction(deferred: false);
            string writer = writerUuid.ToString();
            var orderings = new long[events.Count];
            for (int start = 0; start < events.Count; start += RowsPerInsert)
            {
                int count = Math.Min(RowsPerInsert, events.Count - start);
                SqliteCommand insert = InsertEventsCommand(connection, count);
                insert.Transaction = transaction;
                SqliteParameterCollection parameters = insert.Parameters;
                parameters[0].Value = createdMicros;
                parameters[1].Value = writer;
                for (int i = 0; i < count; i++)
                {
                    SerializedEvent e = events[start + i];
                    parameters[2 + (i * 4)].Value = e.PersistenceId;
                    parameters[3 + (i * 4)].Value = e.SequenceNumber;
                    parameters[4 + (i * 4)].Value = e.Manifest;
                    parameters[5 + (i * 4)].Value = e.Payload;
                }

                // One writer holds the database, so the rows get ascending orderings in VALUES order;
                // RETURNING's row order is unspecified, hence the sort.
                using (SqliteDataReader reader = insert.ExecuteReader())
                {
                    int i = start;
                    while (reader.Read())
                    {
                        orderings[i++] = reader.GetInt64(0);
                    }
                }

                Array.Sort(orderings, start, count);
            }

            SqliteCommand insertTag = _insertTag!;
            insertTag.Transaction = transaction;
            for (int i = 0; i < events.Count; i++)
            {
                if (events[i].Tags is { } tags)
                {
                    foreach (string tag in tags)
                    {
                        insertTag.Parameters[0].Value = tag;
                        insertTag.Parameters[1].Value = orderings[i];
                        insertTag.ExecuteNonQuery();
                    }
                }
            }

            transaction.Commit();
            return orderings;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint && ex.Message.Contains("journal.persistence_id", StringComparison.Ordinal))
        {
            throw new SequenceConflictException(ex);
        }
        catch (SqliteException ex) when (IsUnavailable(ex))
        {
            ResetWriter();
            throw new JournalUnavailableException(Target, ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public Task<List<StoredEvent>> ReadByPersistenceIdAsync(string persistenceId, long afterSequenceNumber, long toSequenceNumber, int limit, CancellationToken cancellationToken) =>
        ReadEventsAsync(
            $"""
            SELECT {EventColumns} FROM journal
            WHERE persistence_id = $pid AND sequence_number > $after AND sequence_number <= $to
            ORDER BY sequence_number LIMIT $limit
            """,
            command =>
            {
                command.Parameters.AddWithValue("$pid", persistenceId);
                command.Parameters.AddWithValue("$after", afterSequenceNumber);
                command.Parameters.AddWithValue("$to", toSequenceNumber);
                command.Parameters.AddWithValue("$limit", limit);
            },
            cancellationToken);

    public Task<List<StoredEvent>> ReadAllAsync(long afterOrdering, int limit, CancellationToken cancellationToken) =>
        ReadEventsAsync(
            $"SELECT {EventColumns} FROM journal WHERE ordering > $after ORDER BY ordering LIMIT $limit",
            command =>
            {
                command.Parameters.AddWithValue("$after", afterOrdering);
                command.Parameters.AddWithValue("$limit", limit);
            },
            cancellationToken);

    public Task<List<StoredEvent>> ReadByTagAsync(string tag, long afterOrdering, long toOrdering, CancellationToken cancellationToken) =>
        ReadEventsAsync(
            $"""
            SELECT {QualifiedEventColumns} FROM event_tag t JOIN journal j ON j.ordering = t.ordering
            WHERE t.tag = $tag AND t.ordering > $after AND t.ordering <= $to AND j.deleted = 0
            ORDER BY t.ordering
            """,
            command =>
            {
                command.Parameters.AddWithValue("$tag", tag);
                command.Parameters.AddWithValue("$after", afterOrdering);
                command.Parameters.AddWithValue("$to", toOrdering);
            },
            cancellationToken);

    public async Task<List<PositionStamp>> ReadOrderingsAsync(long afterOrdering, int limit, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT ordering, created FROM journal WHERE ordering > $after ORDER BY ordering LIMIT $limit";
        command.Parameters.AddWithValue("$after", afterOrdering);
        command.Parameters.AddWithValue("$limit", limit);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<PositionStamp>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new PositionStamp(reader.GetInt64(0), reader.GetInt64(1)));
        }

        return result;
    }

    public Task<long> MaxOrderingAsync(CancellationToken cancellationToken) =>
        ScalarAsync("SELECT COALESCE(MAX(ordering), 0) FROM journal", _ => { }, cancellationToken);

    public Task<long> HighestSequenceNumberAsync(string persistenceId, CancellationToken cancellationToken) =>
        ScalarAsync(
            "SELECT COALESCE(MAX(sequence_number), 0) FROM journal WHERE persistence_id = $pid",
            command => command.Parameters.AddWithValue("$pid", persistenceId),
            cancellationToken);

    public Task DeleteEventsToAsync(string persistenceId, long toSequenceNumber, CancellationToken cancellationToken) =>
        WriteAsync(
            "UPDATE journal SET deleted = 1 WHERE persistence_id = $pid AND sequence_number <= $to AND deleted = 0",
            command =>
            {
                command.Parameters.AddWithValue("$pid", persistenceId);
                command.Parameters.AddWithValue("$to", toSequenceNumber);
            },
            cancellationToken);

    public Task SaveSnapshotAsync(StoredSnapshot snapshot, CancellationToken cancellationToken) =>
        WriteAsync(
            """
            INSERT INTO snapshot (persistence_id, sequence_number, created, manifest, payload)
            VALUES ($pid, $seq, $created, $manifest, $payload)
            ON CONFLICT (persistence_id, sequence_number)
            DO UPDATE SET created = excluded.created, manifest = excluded.manifest, payload = excluded.payload
            """,
            command =>
            {
                command.Parameters.AddWithValue("$pid", snapshot.PersistenceId);
                command.Parameters.AddWithValue("$seq", snapshot.SequenceNumber);
                command.Parameters.AddWithValue("$created", snapshot.CreatedMicros);
                command.Parameters.AddWithValue("$manifest", snapshot.Manifest);
                command.Parameters.AddWithValue("$payload", snapshot.Payload);
            },
            cancellationToken);

    public Task DeleteSnapshotsToAsync(string persistenceId, long maxSequenceNumber, CancellationToken cancellationToken) =>
        WriteAsync(
            "DELETE FROM snapshot WHERE persistence_id = $pid AND sequence_number <= $max",
            command =>
            {
                command.Parameters.AddWithValue("$pid", persistenceId);
                command.Parameters.AddWithValue("$max", maxSequenceNumber);
            },
            cancellationToken);

    /// <summary>One statement on the writer connection, serialized with the batch writes (SQLite has one writer).</summary>
    private async Task WriteAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using SqliteCommand command = OpenWriter().CreateCommand();
            command.CommandText = sql;
            bind(command);
            command.ExecuteNonQuery();
        }
        catch (SqliteException ex) when (IsUnavailable(ex))
        {
            ResetWriter();
            throw new JournalUnavailableException(Target, ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<StoredSnapshot?> LoadSnapshotAsync(string persistenceId, long maxSequenceNumber, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT persistence_id, sequence_number, created, manifest, payload FROM snapshot
            WHERE persistence_id = $pid AND sequence_number <= $max
            ORDER BY sequence_number DESC LIMIT 1
            """;
        command.Parameters.AddWithValue("$pid", persistenceId);
        command.Parameters.AddWithValue("$max", maxSequenceNumber);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new StoredSnapshot(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetFieldValue<byte[]>(4));
    }

    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_writer is not null)
            {
                // Release the file now (tests delete it; the run folder may be moved).
                SqliteConnection.ClearPool(_writer);
            }

            ResetWriter();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static bool IsUnavailable(SqliteException ex) => ex.SqliteErrorCode
        is SqliteBusy or SqliteReadOnly or SqliteIoError or SqliteFull or SqliteCantOpen or SqliteNotADatabase;

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private SqliteConnection OpenWriter()
    {
        if (_writer is { } open)
        {
            return open;
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using SqliteCommand pragmas = connection.CreateCommand();
            pragmas.CommandText = $"PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={BusyTimeoutMilliseconds};";
            pragmas.ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new JournalUnavailableException(Target, ex);
        }

        _writer = connection;
        if (_insertTag is null && TableExists(connection, "journal"))
        {
            PrepareWriteCommands(connection);
        }

        return connection;
    }

    private static bool TableExists(SqliteConnection connection, string table)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $name";
        command.Parameters.AddWithValue("$name", table);
        return (long)command.ExecuteScalar()! > 0;
    }

    private void PrepareWriteCommands(SqliteConnection connection)
    {
        if (_insertTag is not null)
        {
            return;
        }

        SqliteCommand insertTag = connection.CreateCommand();
        insertTag.CommandText = "INSERT INTO event_tag (tag, ordering) VALUES ($tag, $ordering)";
        insertTag.Parameters.Add(new SqliteParameter { ParameterName = "$tag" });
        insertTag.Parameters.Add(new SqliteParameter { ParameterName = "$ordering" });
        _insertTag = insertTag;
    }

    /// <summary>A prepared multi-row INSERT for <paramref name="rows"/> events, cached per row count.</summary>
    private SqliteCommand InsertEventsCommand(SqliteConnection connection, int rows)
    {
        if (_insertEvents.TryGetValue(rows, out SqliteCommand? cached))
        {
            return cached;
        }

        var sql = new System.Text.StringBuilder(
            "INSERT INTO journal (persistence_id, sequence_number, created, manifest, payload, writer_uuid) VALUES ");
        SqliteCommand command = connection.CreateCommand();
        command.Parameters.Add(new SqliteParameter { ParameterName = "$created" });
        command.Parameters.Add(new SqliteParameter { ParameterName = "$writer" });
        for (int i = 0; i < rows; i++)
        {
            sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"($pid{i}, $seq{i}, $created, $manifest{i}, $payload{i}, $writer)");
            command.Parameters.Add(new SqliteParameter { ParameterName = $"$pid{i}" });
            command.Parameters.Add(new SqliteParameter { ParameterName = $"$seq{i}" });
            command.Parameters.Add(new SqliteParameter { ParameterName = $"$manifest{i}" });
            command.Parameters.Add(new SqliteParameter { ParameterName = $"$payload{i}" });
        }

        command.CommandText = sql.Append(" RETURNING ordering").ToString();
        _insertEvents.Add(rows, command);
        return command;
    }

    private void ResetWriter()
    {
        foreach (SqliteCommand command in _insertEvents.Values)
        {
            command.Dispose();
        }

        _insertEvents.Clear();
        _insertTag?.Dispose();
        _writer?.Dispose();
        _insertTag = null;
        _writer = null;
    }

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new JournalUnavailableException(Target, ex);
        }
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (SqliteException ex)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new JournalUnavailableException(Target, ex);
        }
    }

    // Microsoft.Data.Sqlite's async methods run synchronously anyway; the synchronous ones skip a Task per row.
    private Task<List<StoredEvent>> ReadEventsAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using SqliteConnection connection = OpenReader();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        bind(command);
        using SqliteDataReader reader = command.ExecuteReader();
        var result = new List<StoredEvent>();
        string? lastWriterText = null;
        Guid lastWriter = Guid.Empty;
        while (reader.Read())
        {
            string writerText = reader.GetString(6);
            if (!string.Equals(writerText, lastWriterText, StringComparison.Ordinal))
            {
                lastWriter = Guid.Parse(writerText);
                lastWriterText = writerText;
            }

            result.Add(new StoredEvent(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetInt64(2),
                reader.GetInt64(3),
                reader.GetString(4),
                reader.GetFieldValue<byte[]>(5),
                lastWriter,
                reader.GetInt64(7) != 0));
        }

        return Task.FromResult(result);
    }

    private async Task<long> ScalarAsync(string sql, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        bind(command);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
