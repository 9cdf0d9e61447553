using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Basis.Cluster.Work;

/// <summary>An item a worker leased: attempt n of item <see cref="ItemId"/>.</summary>
public sealed record LeasedItem(long ItemId, Guid SessionId, long Step, int Slot, long MinVersion, int Attempt, WorkPayload Payload);

/// <summary>A finished item as the learner collects it (the first attempt to finish wins).</summary>
public sealed record CollectedResult(long ItemId, int Attempt, string Worker, ResultPayload Payload);

/// <summary>An item that used up its attempts without a result, with the last error a worker reported (null if its leases only expired).</summary>
public sealed record FailedItem(long ItemId, long Step, int Slot, int Attempts, string? LastError);

/// <summary>
/// The leased work queue. Learners enqueue a chunk's items; workers claim batches with
/// <c>FOR UPDATE SKIP LOCKED</c> (so concurrent claimers never wait on or share a row), each claim
/// bumping the item's attempt and setting its owner and lease expiry. An expired lease is claimable
/// again. Results are keyed by (item, attempt): a late or repeated completion is stored at most once
/// and only the first one to finish completes the item. An item claimed max_attempts times without a
/// result (released with an error, or its lease lost each time) is failed instead of claimed again,
/// and the learner's collector stops the run naming it.
/// </summary>
public sealed class WorkQueue
{
    private readonly ClusterDatabase _database;

    public WorkQueue(ClusterDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Enqueues one step's items (in slot order of <paramref name="items"/>) and wakes the workers. Returns their ids in the same order.</summary>
    public async Task<long[]> EnqueueAsync(Guid sessionId, long step, long minVersion, IReadOnlyList<(int Slot, WorkPayload Payload)> items, CancellationToken cancellationToken, int maxAttempts = 5)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxAttempts);
        var slots = new int[items.Count];
        var payloads = new string[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            slots[i] = items[i].Slot;
            payloads[i] = JsonSerializer.Serialize(items[i].Payload, ClusterJson.Default.WorkPayload);
        }

        await using NpgsqlBatch batch = _database.DataSource.CreateBatch();
        var insert = new NpgsqlBatchCommand(
            """
            INSERT INTO cluster_work (session_id, step, slot, min_version, payload, enqueued_at, max_attempts)
            SELECT @session, @step, t.slot, @min_version, t.payload, @now, @max_attempts
            FROM unnest(@slots, @payloads) WITH ORDINALITY AS t(slot, payload, position)
            ORDER BY t.position
            RETURNING item_id, slot
            """);
        insert.Parameters.AddWithValue("session", sessionId);
        insert.Parameters.AddWithValue("step", step);
        insert.Parameters.AddWithValue("min_version", minVersion);
        insert.Parameters.AddWithValue("max_attempts", maxAttempts);
        insert.Parameters.AddWithValue("now", _database.Now);
        insert.Parameters.Add(new NpgsqlParameter("slots", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = slots });
        insert.Parameters.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = payloads });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(Notify(ClusterSchema.WorkChannel));
        // Slots are unique within a step, so they map the returned ids back to the items.
        var idBySlot = new Dictionary<int, long>(items.Count);
        await using (NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                idBySlot.Add(reader.GetInt32(1), reader.GetInt64(0));
            }
        }

        return slots.Select(s => idBySlot[s]).ToArray();
    }

    /// <summary>
    /// Leases at most <paramref name="limit"/> items to an up member, oldest first, whose session has
    /// published the weight version they need. A node that is not up (joining, downed, refused) gets nothing.
    /// </summary>
    public async Task<IReadOnlyList<LeasedItem>> ClaimAsync(string nodeId, Guid incarnation, int limit, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        DateTime now = _database.Now;
        // One round trip: fail what has used up its attempts, then claim from what is left.
        await using NpgsqlBatch batch = _database.DataSource.CreateBatch();
        batch.BatchCommands.Add(FailExhausted(now));
        var claim = new NpgsqlBatchCommand(
            """
            WITH picked AS (
                SELECT w.item_id FROM cluster_work w
                WHERE (w.status = 'queued' OR (w.status = 'leased' AND w.lease_expires < @now))
                  AND w.attempt < w.max_attempts
                  AND w.min_version <= COALESCE((SELECT max(v.version) FROM cluster_weights_version v WHERE v.session_id = w.session_id), -1)
                  AND EXISTS (SELECT 1 FROM cluster_member m WHERE m.node_id = @node AND m.incarnation = @incarnation AND m.status = 'up')
                ORDER BY w.item_id
                LIMIT @limit
                FOR UPDATE OF w SKIP LOCKED)
            UPDATE cluster_work w SET status = 'leased', owner = @node, lease_expires = @expires, attempt = w.attempt + 1
            FROM picked WHERE w.item_id = picked.item_id
            RETURNING w.item_id, w.session_id, w.step, w.slot, w.min_version, w.attempt, w.payload
            """);
        claim.Parameters.AddWithValue("now", now);
        claim.Parameters.AddWithValue("node", nodeId);
        claim.Parameters.AddWithValue("incarnation", incarnation);
        claim.Parameters.AddWithValue("limit", limit);
        claim.Parameters.AddWithValue("expires", now + leaseDuration);
        batch.BatchCommands.Add(claim);
        var leased = new List<LeasedItem>();
        await using (NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            // Past the failing statement's notify row to the claimed items.
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                leased.Add(new LeasedItem(
                    reader.GetInt64(0),
                    reader.GetGuid(1),
                    reader.GetInt64(2),
                    reader.GetInt32(3),
                    reader.GetInt64(4),
                    reader.GetInt32(5),
                    JsonSerializer.Deserialize(reader.GetString(6), ClusterJson.Default.WorkPayload)
                        ?? throw new InvalidDataException($"cluster_work item {reader.GetInt64(0)} has an empty payload.")));
            }
        }

        leased.Sort((a, b) => a.ItemId.CompareTo(b.ItemId));
        return leased;
    }

    /// <summary>
    /// Stores results and completes their items in one transaction, then wakes the learner. An item
    /// already completed (by a faster attempt), or cancelled, keeps its first result; one the learner
    /// has already collected and pruned takes no result at all.
    /// </summary>
    public async Task CompleteAsync(string nodeId, IReadOnlyList<(LeasedItem Item, ResultPayload Result)> results, CancellationToken cancellationToken)
    {
        try
        {
            await CompleteOnceAsync(nodeId, results, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // A late duplicate raced the learner's pruning of its item: the retry skips the item that is gone.
            await CompleteOnceAsync(nodeId, results, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CompleteOnceAsync(string nodeId, IReadOnlyList<(LeasedItem Item, ResultPayload Result)> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0)
        {
            return;
        }

        var ids = new long[results.Count];
        var attempts = new int[results.Count];
        var payloads = new string[results.Count];
        for (int i = 0; i < results.Count; i++)
        {
            ids[i] = results[i].Item.ItemId;
            attempts[i] = results[i].Item.Attempt;
            payloads[i] = JsonSerializer.Serialize(results[i].Result, ClusterJson.Default.ResultPayload);
        }

        await using NpgsqlBatch batch = _database.DataSource.CreateBatch();
        var insert = new NpgsqlBatchCommand(
            """
            INSERT INTO cluster_result (item_id, attempt, worker, payload, created)
            SELECT t.item_id, t.attempt, @worker, t.payload, @now FROM unnest(@ids, @attempts, @payloads) AS t(item_id, attempt, payload)
            WHERE EXISTS (SELECT 1 FROM cluster_work w WHERE w.item_id = t.item_id)
            ON CONFLICT (item_id, attempt) DO NOTHING
            """);
        insert.Parameters.AddWithValue("worker", nodeId);
        insert.Parameters.AddWithValue("now", _database.Now);
        insert.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = ids });
        insert.Parameters.Add(new NpgsqlParameter("attempts", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = attempts });
        insert.Parameters.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = payloads });
        var complete = new NpgsqlBatchCommand(
            """
            UPDATE cluster_work w SET status = 'done', done_attempt = t.attempt, owner = NULL, lease_expires = NULL
            FROM unnest(@ids, @attempts) AS t(item_id, attempt)
            WHERE w.item_id = t.item_id AND w.status IN ('queued', 'leased')
            """);
        complete.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = ids });
        complete.Parameters.Add(new NpgsqlParameter("attempts", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = attempts });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(complete);
        batch.BatchCommands.Add(Notify(ClusterSchema.ResultChannel));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gives leased items back to the queue (a worker that could not generate them: <paramref name="error"/> says why and is kept for the failure report).</summary>
    public async Task ReleaseAsync(string nodeId, IReadOnlyList<LeasedItem> items, CancellationToken cancellationToken, string? error = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        await using NpgsqlBatch batch = _database.DataSource.CreateBatch();
        var release = new NpgsqlBatchCommand(
            """
            UPDATE cluster_work SET status = 'queued', owner = NULL, lease_expires = NULL, last_error = COALESCE(@error::text, last_error)
            WHERE item_id = ANY(@ids) AND owner = @node AND status = 'leased'
            """);
        release.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = items.Select(i => i.ItemId).ToArray() });
        release.Parameters.AddWithValue("node", nodeId);
        release.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Text) { Value = (object?)error ?? DBNull.Value });
        batch.BatchCommands.Add(release);
        batch.BatchCommands.Add(Notify(ClusterSchema.WorkChannel));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns a downed node's leased items to the queue and wakes the workers; the count released.</summary>
    public async Task<int> ReleaseOwnerAsync(string nodeId, CancellationToken cancellationToken)
    {
        await using NpgsqlBatch batch = _database.DataSource.CreateBatch();
        NpgsqlBatchCommand release = WorkQueueSql.ReleaseOwner(nodeId);
        batch.BatchCommands.Add(release);
        batch.BatchCommands.Add(Notify(ClusterSchema.WorkChannel));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return release.RecordsAffected;
    }

    /// <summary>Takes the session's newly finished items (each once) with the result of the attempt that finished first.</summary>
    public async Task<IReadOnlyList<CollectedResult>> CollectAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command(
            """
            WITH d AS (
                UPDATE cluster_work SET status = 'collected'
                WHERE session_id = @session AND status = 'done'
                RETURNING item_id, done_attempt)
            SELECT d.item_id, d.done_attempt, r.worker, r.payload FROM d JOIN cluster_result r ON r.item_id = d.item_id AND r.attempt = d.done_attempt
            """);
        command.Parameters.AddWithValue("session", sessionId);
        var collected = new List<CollectedResult>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            collected.Add(new CollectedResult(
                reader.GetInt64(0),
                reader.GetInt32(1),
                reader.GetString(2),
                JsonSerializer.Deserialize(reader.GetString(3), ClusterJson.Default.ResultPayload)
                    ?? throw new InvalidDataException($"cluster_result for item {reader.GetInt64(0)} has an empty payload.")));
        }

        return collected;
    }

    /// <summary>
    /// Deletes the session's collected and cancelled items with their results (the learner holds what it
    /// needs, the journal keeps it): without this a long run leaves one row per rollout behind. Returns the count.
    /// </summary>
    public async Task<int> PruneAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command(
            "DELETE FROM cluster_work WHERE session_id = @session AND status IN ('collected', 'cancelled')");
        command.Parameters.AddWithValue("session", sessionId);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The session's failed items (each reported every time until the session ends; the run stops at the first).</summary>
    public async Task<IReadOnlyList<FailedItem>> FailedAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command(
            "SELECT item_id, step, slot, attempt, last_error FROM cluster_work WHERE session_id = @session AND status = 'failed' ORDER BY item_id");
        command.Parameters.AddWithValue("session", sessionId);
        var failed = new List<FailedItem>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            failed.Add(new FailedItem(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt32(2), reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return failed;
    }

    // Open items that used up their attempts (released with errors, or leases that kept expiring) fail, and the learners hear of it.
    private static NpgsqlBatchCommand FailExhausted(DateTime now)
    {
        var command = new NpgsqlBatchCommand(
            """
            WITH f AS (
                UPDATE cluster_work SET status = 'failed', owner = NULL, lease_expires = NULL
                WHERE status IN ('queued', 'leased') AND attempt >= max_attempts AND (status = 'queued' OR lease_expires < @now)
                RETURNING 1)
            SELECT pg_notify(@channel, '') FROM (SELECT count(*) AS n FROM f) c WHERE c.n > 0
            """);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("channel", ClusterSchema.ResultChannel);
        return command;
    }

    /// <summary>Cancels items nobody needs any more (a stopped proxy, or the previous learner session of a run).</summary>
    public async Task CancelAsync(IReadOnlyList<long> itemIds, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command(
            "UPDATE cluster_work SET status = 'cancelled', owner = NULL, lease_expires = NULL WHERE item_id = ANY(@ids) AND status IN ('queued', 'leased')");
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = itemIds.ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static NpgsqlBatchCommand Notify(string channel)
    {
        var notify = new NpgsqlBatchCommand("SELECT pg_notify(@channel, '')");
        notify.Parameters.AddWithValue("channel", channel);
        return notify;
    }
}

internal static class WorkQueueSql
{
    public static NpgsqlBatchCommand ReleaseOwner(string nodeId)
    {
        var command = new NpgsqlBatchCommand("UPDATE cluster_work SET status = 'queued', owner = NULL, lease_expires = NULL WHERE owner = @node AND status = 'leased'");
        command.Parameters.AddWithValue("node", nodeId);
        return command;
    }
}
