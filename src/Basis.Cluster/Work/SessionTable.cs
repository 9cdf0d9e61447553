using System.Text.Json;
using Npgsql;

namespace Basis.Cluster.Work;

/// <summary>
/// Learner sessions: one per learner process serving a run. Work items and weight versions belong
/// to a session, so a restarted learner never mixes its versions with its predecessor's.
/// </summary>
public sealed class SessionTable
{
    private readonly ClusterDatabase _database;

    public SessionTable(ClusterDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    /// <summary>Opens a new session for <paramref name="descriptor"/>'s run and cancels the open work of the run's earlier sessions.</summary>
    public async Task<Guid> StartAsync(string learner, SessionDescriptor descriptor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var sessionId = Guid.NewGuid();
        await using NpgsqlBatch batch = _database.DataSource.CreateBatch();
        var cancel = new NpgsqlBatchCommand(
            """
            UPDATE cluster_work SET status = 'cancelled', owner = NULL, lease_expires = NULL
            WHERE status IN ('queued', 'leased') AND session_id IN (SELECT session_id FROM cluster_session WHERE run_id = @run)
            """);
        cancel.Parameters.AddWithValue("run", descriptor.RunId);
        var insert = new NpgsqlBatchCommand(
            "INSERT INTO cluster_session (session_id, run_id, learner, descriptor, started_at) VALUES (@session, @run, @learner, @descriptor, @now)");
        insert.Parameters.AddWithValue("session", sessionId);
        insert.Parameters.AddWithValue("run", descriptor.RunId);
        insert.Parameters.AddWithValue("learner", learner);
        insert.Parameters.AddWithValue("descriptor", JsonSerializer.Serialize(descriptor, ClusterJson.Default.SessionDescriptor));
        insert.Parameters.AddWithValue("now", _database.Now);
        batch.BatchCommands.Add(cancel);
        batch.BatchCommands.Add(insert);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return sessionId;
    }

    public async Task<SessionDescriptor> DescriptorAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command("SELECT descriptor FROM cluster_session WHERE session_id = @session");
        command.Parameters.AddWithValue("session", sessionId);
        object? value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is string text
            ? JsonSerializer.Deserialize(text, ClusterJson.Default.SessionDescriptor) ?? throw new InvalidDataException($"cluster_session {sessionId} has an empty descriptor.")
            : throw new InvalidDataException($"cluster_session {sessionId} does not exist.");
    }
}
