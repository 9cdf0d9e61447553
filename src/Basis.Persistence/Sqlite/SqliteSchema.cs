namespace Basis.Persistence.Sqlite;

internal static class SqliteSchema
{
    public const string CreateVersionTable = """
        CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER NOT NULL PRIMARY KEY,
            applied_at INTEGER NOT NULL,
            description TEXT NOT NULL
        );
        """;

    public static readonly IReadOnlyList<Migration> Migrations =
    [
        new(1, "journal, event_tag and snapshot tables", """
            CREATE TABLE journal (
                ordering INTEGER PRIMARY KEY AUTOINCREMENT,
                persistence_id TEXT NOT NULL,
                sequence_number INTEGER NOT NULL,
                created INTEGER NOT NULL,
                manifest TEXT NOT NULL,
                payload BLOB NOT NULL,
                writer_uuid TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0,
                CONSTRAINT journal_persistence_id_sequence_number_key UNIQUE (persistence_id, sequence_number)
            );
            CREATE TABLE event_tag (
                tag TEXT NOT NULL,
                ordering INTEGER NOT NULL,
                PRIMARY KEY (tag, ordering)
            ) WITHOUT ROWID;
            CREATE TABLE snapshot (
                persistence_id TEXT NOT NULL,
                sequence_number INTEGER NOT NULL,
                created INTEGER NOT NULL,
                manifest TEXT NOT NULL,
                payload BLOB NOT NULL,
                PRIMARY KEY (persistence_id, sequence_number)
            ) WITHOUT ROWID;
            """),
    ];
}
