using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Basis.Training.Run;

/// <summary>
/// The resolved configuration a run started with, saved in its folder as <c>config.json</c> (JSON is
/// HOCON) so that <c>basis train --resume RUN</c> needs no flags. Passwords in connection strings and the
/// cluster's secrets (a TLS certificate password) are not saved: a resumed PostgreSQL run takes its password from PGPASSWORD, ~/.pgpass or a --config file.
/// </summary>
public static class RunConfigFile
{
    public const string FileName = "config.json";

    /// <summary>Writes <paramref name="resolvedJson"/> without passwords, through a temporary file.</summary>
    public static void Save(string runDir, string resolvedJson)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDir);
        Directory.CreateDirectory(runDir);
        string path = Path.Combine(runDir, FileName);
        File.WriteAllText(path + ".tmp", WithoutPasswords(resolvedJson));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>
    /// The journal a run folder's <c>config.json</c> names when it is not the folder's own SQLite file
    /// (a PostgreSQL run); false when there is no such file or the run used SQLite.
    /// </summary>
    /// <exception cref="FormatException">config.json is not valid JSON.</exception>
    public static bool TryReadExternalJournal(string runDir, out string provider, out string connectionString)
    {
        provider = "sqlite";
        connectionString = string.Empty;
        string path = Path.Combine(runDir, FileName);
        if (!File.Exists(path))
        {
            return false;
        }

        JsonNode? journal;
        try
        {
            journal = JsonNode.Parse(File.ReadAllText(path))?["basis"]?["journal"];
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path} is not valid JSON: {e.Message}", e);
        }

        if (journal?["provider"]?.GetValue<string>() is not { } named || named == "sqlite"
            || journal["connection-string"]?.GetValue<string>() is not { Length: > 0 } connection)
        {
            return false;
        }

        provider = named;
        connectionString = connection;
        return true;
    }

    /// <summary>The JSON with the password (and pwd) keys removed from every <c>connection-string</c> value, and every <c>secret</c> and <c>password</c> (a TLS certificate's) removed.</summary>
    public static string WithoutPasswords(string json)
    {
        JsonNode root = JsonNode.Parse(json) ?? throw new FormatException("the resolved configuration is empty.");
        Redact(root);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static void Redact(JsonNode node)
    {
        if (node is JsonArray array)
        {
            foreach (JsonNode? item in array)
            {
                if (item is not null)
                {
                    Redact(item);
                }
            }
        }

        if (node is not JsonObject obj)
        {
            return;
        }

        foreach ((string key, JsonNode? value) in obj.ToList())
        {
            if (key is "secret" or "password")
            {
                // Secrets come from the environment again on resume (the certificate password from BASIS_CLUSTER_CERT_PASSWORD); they never sit in a run folder.
                obj.Remove(key);
            }
            else if (key == "connection-string" && value is JsonValue text && text.TryGetValue(out string? connection))
            {
                var builder = new DbConnectionStringBuilder { ConnectionString = connection };
                builder.Remove("password");
                builder.Remove("pwd");
                obj[key] = builder.ConnectionString;
            }
            else if (value is not null)
            {
                Redact(value);
            }
        }
    }
}
