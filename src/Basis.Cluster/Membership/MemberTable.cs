using Basis.Cluster.Work;
using Npgsql;

namespace Basis.Cluster.Membership;

/// <summary>The SQL of the membership table. Every statement is parameterized.</summary>
public sealed class MemberTable
{
    private readonly ClusterDatabase _database;

    public MemberTable(ClusterDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Registers (or re-registers) a node as <paramref name="status"/> with a new incarnation.</summary>
    public async Task JoinAsync(JoinRequest request, byte[] hmac, MemberStatus status, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command(
            """
            INSERT INTO cluster_member (node_id, incarnation, roles, address, slots, status, reason, join_hmac, joined_at, heartbeat_at)
            VALUES (@node, @incarnation, @roles, @address, @slots, @status, NULL, @hmac, @now, @now)
            ON CONFLICT (node_id) DO UPDATE SET
                incarnation = excluded.incarnation, roles = excluded.roles, address = excluded.address, slots = excluded.slots,
                status = excluded.status, reason = NULL, join_hmac = excluded.join_hmac, joined_at = excluded.joined_at, heartbeat_at = excluded.heartbeat_at
            """);
        command.Parameters.AddWithValue("node", request.NodeId);
        command.Parameters.AddWithValue("incarnation", request.Incarnation);
        command.Parameters.AddWithValue("roles", request.Roles);
        command.Parameters.AddWithValue("address", request.Address);
        command.Parameters.AddWithValue("slots", request.Slots);
        command.Parameters.AddWithValue("status", status.ToText());
        command.Parameters.AddWithValue("hmac", hmac);
        command.Parameters.AddWithValue("now", _database.Now);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Refreshes the node's heartbeat and renews the leases it holds, so a live node keeps its work
    /// however long a batch takes. Returns the node's status and reason, or null when its row or
    /// incarnation is gone.
    /// </summary>
    public async Task<(MemberStatus Status, string? Reason)?> HeartbeatAsync(string nodeId, Guid incarnation, TimeSpan leaseDuration, CancellationToken cancellationToken)
    {
        DateTime now = _database.Now;
        await using NpgsqlBatch batch = _database.DataSource.CreateBatch();
        var heartbeat = new NpgsqlBatchCommand(
            """
            UPDATE cluster_member SET heartbeat_at = @now
            WHERE node_id = @node AND incarnation = @incarnation
            RETURNING status, reason
            """);
        heartbeat.Parameters.AddWithValue("now", now);
        heartbeat.Parameters.AddWithValue("node", nodeId);
        heartbeat.Parameters.AddWithValue("incarnation", incarnation);
        var renew = new NpgsqlBatchCommand(
            """
            UPDATE cluster_work SET lease_expires = @expires
            WHERE owner = @node AND status = 'leased'
              AND EXISTS (SELECT 1 FROM cluster_member m WHERE m.node_id = @node AND m.incarnation = @incarnation AND m.status = 'up')
            """);
        renew.Parameters.AddWithValue("expires", now + leaseDuration);
        renew.Parameters.AddWithValue("node", nodeId);
        renew.Parameters.AddWithValue("incarnation", incarnation);
        batch.BatchCommands.Add(heartbeat);
        batch.BatchCommands.Add(renew);
        await using NpgsqlDataReader reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return (MemberStatusText.Parse(reader.GetString(0)), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    public async Task<IReadOnlyList<Member>> ListAsync(CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command(
            "SELECT node_id, incarnation, roles, address, slots, status, reason, join_hmac, joined_at, heartbeat_at FROM cluster_member ORDER BY node_id");
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var members = new List<Member>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            members.Add(new Member(
                reader.GetString(0),
                reader.GetGuid(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetInt32(4),
                MemberStatusText.Parse(reader.GetString(5)),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                (byte[])reader.GetValue(7),
                new DateTimeOffset(reader.GetDateTime(8), TimeSpan.Zero),
                new DateTimeOffset(reader.GetDateTime(9), TimeSpan.Zero)));
        }

        return members;
    }

    /// <summary>
    /// Moves an incarnation from one status to another; false when it changed meanwhile. With
    /// <paramref name="seenHeartbeat"/> the move only happens if no heartbeat arrived since, so a node
    /// is never downed on stale evidence.
    /// </summary>
    public async Task<bool> TransitionAsync(string nodeId, Guid incarnation, MemberStatus from, MemberStatus to, string? reason, DateTimeOffset? seenHeartbeat, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command(
            """
            UPDATE cluster_member SET status = @to, reason = @reason
            WHERE node_id = @node AND incarnation = @incarnation AND status = @from
              AND (@seen::timestamptz IS NULL OR heartbeat_at = @seen::timestamptz)
            """);
        command.Parameters.AddWithValue("to", to.ToText());
        command.Parameters.AddWithValue("reason", (object?)reason ?? DBNull.Value);
        command.Parameters.AddWithValue("node", nodeId);
        command.Parameters.AddWithValue("incarnation", incarnation);
        command.Parameters.AddWithValue("from", from.ToText());
        command.Parameters.Add(new NpgsqlParameter("seen", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = seenHeartbeat is { } seen ? seen.UtcDateTime : DBNull.Value });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>A graceful leave: the incarnation is marked down (a refused one stays refused, for the operator to see) and its leased work returns to the queue.</summary>
    public async Task LeaveAsync(string nodeId, Guid incarnation, CancellationToken cancellationToken)
    {
        await using NpgsqlBatch batch = _database.DataSource.CreateBatch();
        var down = new NpgsqlBatchCommand("UPDATE cluster_member SET status = 'down', reason = 'left the cluster' WHERE node_id = @node AND incarnation = @incarnation AND status <> 'refused'");
        down.Parameters.AddWithValue("node", nodeId);
        down.Parameters.AddWithValue("incarnation", incarnation);
        batch.BatchCommands.Add(down);
        batch.BatchCommands.Add(WorkQueueSql.ReleaseOwner(nodeId));
        batch.BatchCommands.Add(WorkQueue.Notify(ClusterSchema.WorkChannel));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
