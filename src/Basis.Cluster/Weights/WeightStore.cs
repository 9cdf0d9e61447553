using System.Data;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Npgsql;

namespace Basis.Cluster.Weights;

/// <summary>
/// Versioned policy weights of a session. Each version is written whole in one transaction (its
/// manifest row with length and SHA-256 last), either as chunked rows in PostgreSQL or as a file in
/// shared storage named by the manifest, so a reader sees a version completely or not at all.
/// </summary>
public sealed class WeightStore
{
    private readonly ClusterDatabase _database;
    private readonly WeightTransportSettings _transport;

    public WeightStore(ClusterDatabase database, WeightTransportSettings transport)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(transport);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("weights are shipped as little-endian floats.");
        }

        if (transport.Transport == "shared-path" && string.IsNullOrWhiteSpace(transport.SharedPath))
        {
            throw new ClusterConfigurationException("basis.cluster.weights.shared-path must name a folder when basis.cluster.weights.transport = shared-path.");
        }

        if (transport.ChunkSize.Bytes < 1024 || transport.ChunkSize.Bytes > (256 << 20))
        {
            throw new ClusterConfigurationException($"basis.cluster.weights.chunk-size = {transport.ChunkSize.Bytes} bytes: must be between 1 KiB and 256 MiB.");
        }

        _database = database;
        _transport = transport;
    }

    /// <summary>Publishes <paramref name="version"/> and drops the session's versions older than <paramref name="keepFrom"/>.</summary>
    public async Task PublishAsync(Guid sessionId, long version, ReadOnlyMemory<float> weights, long keepFrom, CancellationToken cancellationToken)
    {
        byte[] bytes = MemoryMarshal.AsBytes(weights.Span).ToArray();
        byte[] hash = SHA256.HashData(bytes);
        string? location = null;
        int chunkSize = (int)_transport.ChunkSize.Bytes;
        int chunks = 0;
        if (_transport.Transport == "shared-path")
        {
            location = await WriteSharedFileAsync(sessionId, version, bytes, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            chunks = (bytes.Length + chunkSize - 1) / chunkSize;
        }

        await using NpgsqlConnection connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var manifest = new NpgsqlCommand(
            """
            INSERT INTO cluster_weights_version (session_id, version, length, chunks, sha256, location, published_at)
            VALUES (@session, @version, @length, @chunks, @sha, @location, @now)
            """,
            connection,
            transaction))
        {
            manifest.Parameters.AddWithValue("session", sessionId);
            manifest.Parameters.AddWithValue("version", version);
            manifest.Parameters.AddWithValue("length", (long)bytes.Length);
            manifest.Parameters.AddWithValue("chunks", chunks);
            manifest.Parameters.AddWithValue("sha", hash);
            manifest.Parameters.AddWithValue("location", (object?)location ?? DBNull.Value);
            manifest.Parameters.AddWithValue("now", _database.Now);
            await manifest.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        for (int c = 0; c < chunks; c++)
        {
            int offset = c * chunkSize;
            await using var chunk = new NpgsqlCommand(
                "INSERT INTO cluster_weights_chunk (session_id, version, chunk, data) VALUES (@session, @version, @chunk, @data)",
                connection,
                transaction);
            chunk.Parameters.AddWithValue("session", sessionId);
            chunk.Parameters.AddWithValue("version", version);
            chunk.Parameters.AddWithValue("chunk", c);
            chunk.Parameters.Add(new NpgsqlParameter("data", NpgsqlTypes.NpgsqlDbType.Bytea) { Value = new ArraySegment<byte>(bytes, offset, Math.Min(chunkSize, bytes.Length - offset)) });
            await chunk.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var prune = new NpgsqlCommand(
            "DELETE FROM cluster_weights_version WHERE session_id = @session AND version < @keep_from RETURNING location",
            connection,
            transaction))
        {
            prune.Parameters.AddWithValue("session", sessionId);
            prune.Parameters.AddWithValue("keep_from", keepFrom);
            await using NpgsqlDataReader reader = await prune.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!reader.IsDBNull(0))
                {
                    // A worker reading this version right now fails its load and retries with the latest one.
                    TryDelete(reader.GetString(0));
                }
            }
        }

        await using (var notify = new NpgsqlCommand("SELECT pg_notify(@channel, '')", connection, transaction))
        {
            notify.Parameters.AddWithValue("channel", ClusterSchema.WorkChannel);
            await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The session's latest published version, or -1.</summary>
    public async Task<long> LatestVersionAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = _database.Command("SELECT COALESCE(max(version), -1) FROM cluster_weights_version WHERE session_id = @session");
        command.Parameters.AddWithValue("session", sessionId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Reads the session's latest version (one consistent snapshot) and checks its SHA-256.</summary>
    /// <exception cref="ClusterWeightsException">Nothing is published yet, or the bytes do not match the manifest.</exception>
    public async Task<(long Version, float[] Weights)> LoadLatestAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        long version;
        long length;
        int chunks;
        byte[] expected;
        string? location;
        await using (var manifest = new NpgsqlCommand(
            "SELECT version, length, chunks, sha256, location FROM cluster_weights_version WHERE session_id = @session ORDER BY version DESC LIMIT 1",
            connection,
            transaction))
        {
            manifest.Parameters.AddWithValue("session", sessionId);
            await using NpgsqlDataReader reader = await manifest.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new ClusterWeightsException($"session {sessionId} has published no weights yet.");
            }

            version = reader.GetInt64(0);
            length = reader.GetInt64(1);
            chunks = reader.GetInt32(2);
            expected = (byte[])reader.GetValue(3);
            location = reader.IsDBNull(4) ? null : reader.GetString(4);
        }

        byte[] bytes;
        if (location is not null)
        {
            bytes = await File.ReadAllBytesAsync(location, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            bytes = new byte[length];
            int offset = 0;
            int seen = 0;
            await using var read = new NpgsqlCommand(
                "SELECT chunk, data FROM cluster_weights_chunk WHERE session_id = @session AND version = @version ORDER BY chunk",
                connection,
                transaction);
            read.Parameters.AddWithValue("session", sessionId);
            read.Parameters.AddWithValue("version", version);
            await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                byte[] data = (byte[])reader.GetValue(1);
                if (reader.GetInt32(0) != seen || offset + data.Length > length)
                {
                    throw new ClusterWeightsException($"weights version {version} of session {sessionId}: chunk {reader.GetInt32(0)} is out of place.");
                }

                data.CopyTo(bytes, offset);
                offset += data.Length;
                seen++;
            }

            if (seen != chunks || offset != length)
            {
                throw new ClusterWeightsException($"weights version {version} of session {sessionId}: {seen} of {chunks} chunks, {offset} of {length} bytes.");
            }
        }

        if (bytes.Length != length || !SHA256.HashData(bytes).AsSpan().SequenceEqual(expected))
        {
            throw new ClusterWeightsException($"weights version {version} of session {sessionId} do not match their SHA-256 ({location ?? "chunked rows"}).");
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (version, MemoryMarshal.Cast<byte, float>(bytes).ToArray());
    }

    private async Task<string> WriteSharedFileAsync(Guid sessionId, long version, byte[] bytes, CancellationToken cancellationToken)
    {
        string folder = Path.GetFullPath(Path.Combine(_transport.SharedPath!, sessionId.ToString("N")));
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, $"v{version:D8}.weights");
        string temporary = path + ".tmp";
        await File.WriteAllBytesAsync(temporary, bytes, cancellationToken).ConfigureAwait(false);

        // Rename last: a reader never opens a half-written file under the real name.
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left for the operator: a stale weights file is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
