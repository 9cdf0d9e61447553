using Npgsql;

namespace Basis.Cluster;

/// <summary>
/// The coordination tables. Every timestamp is written from the writer's <see cref="TimeProvider"/>
/// (so tests drive leases and failure detection with a manual clock); nodes' clocks must roughly
/// agree, as for any lease-based system. Created idempotently under a per-schema advisory lock.
/// </summary>
internal static class ClusterSchema
{
    public const string WorkChannel = "basis_cluster_work";
    public const string ResultChannel = "basis_cluster_result";

    private const string Ddl =
        """
        CREATE TABLE IF NOT EXISTS cluster_member (
            node_id       text PRIMARY KEY,
            incarnation   uuid NOT NULL,
            roles         text NOT NULL,
            address       text NOT NULL,
            slots         integer NOT NULL,
            status        text NOT NULL,
            reason        text NULL,
            join_hmac     bytea NOT NULL,
            joined_at     timestamptz NOT NULL,
            heartbeat_at  timestamptz NOT NULL
        );
        CREATE TABLE IF NOT EXISTS cluster_session (
            session_id    uuid PRIMARY KEY,
            run_id        text NOT NULL,
            learner       text NOT NULL,
            descriptor    text NOT NULL,
            started_at    timestamptz NOT NULL
        );
        CREATE TABLE IF NOT EXISTS cluster_work (
            item_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_id    uuid NOT NULL REFERENCES cluster_session (session_id) ON DELETE CASCADE,
            step          bigint NOT NULL,
            slot          integer NOT NULL,
            min_version   bigint NOT NULL,
            payload       text NOT NULL,
            status        text NOT NULL DEFAULT 'queued',
            owner         text NULL,
            lease_expires timestamptz NULL,
            attempt       integer NOT NULL DEFAULT 0,
            done_attempt  integer NULL,
            enqueued_at   timestamptz NOT NULL
        );
        -- Added after the first release: a database created before them gains the columns here.
        ALTER TABLE cluster_work ADD COLUMN IF NOT EXISTS max_attempts integer NOT NULL DEFAULT 5;
        ALTER TABLE cluster_work ADD COLUMN IF NOT EXISTS last_error text NULL;
        CREATE INDEX IF NOT EXISTS cluster_work_open ON cluster_work (item_id) WHERE status IN ('queued', 'leased');
        CREATE INDEX IF NOT EXISTS cluster_work_failed ON cluster_work (session_id) WHERE status = 'failed';
        CREATE INDEX IF NOT EXISTS cluster_work_done ON cluster_work (session_id) WHERE status = 'done';
        CREATE INDEX IF NOT EXISTS cluster_work_owner ON cluster_work (owner) WHERE status = 'leased';
        CREATE TABLE IF NOT EXISTS cluster_result (
            item_id       bigint NOT NULL REFERENCES cluster_work (item_id) ON DELETE CASCADE,
            attempt       integer NOT NULL,
            worker        text NOT NULL,
            payload       text NOT NULL,
            created       timestamptz NOT NULL,
            PRIMARY KEY (item_id, attempt)
        );
        CREATE TABLE IF NOT EXISTS cluster_weights_version (
            session_id    uuid NOT NULL REFERENCES cluster_session (session_id) ON DELETE CASCADE,
            version       bigint NOT NULL,
            length        bigint NOT NULL,
            chunks        integer NOT NULL,
            sha256        bytea NOT NULL,
            location      text NULL,
            published_at  timestamptz NOT NULL,
            PRIMARY KEY (session_id, version)
        );
        CREATE TABLE IF NOT EXISTS cluster_weights_chunk (
            session_id    uuid NOT NULL,
            version       bigint NOT NULL,
            chunk         integer NOT NULL,
            data          bytea NOT NULL,
            PRIMARY KEY (session_id, version, chunk),
            FOREIGN KEY (session_id, version) REFERENCES cluster_weights_version (session_id, version) ON DELETE CASCADE
        );
        """;

    public static async Task EnsureAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('basis.cluster.schema:' || current_schema()))", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var ddl = new NpgsqlCommand(Ddl, connection, transaction))
        {
            await ddl.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
