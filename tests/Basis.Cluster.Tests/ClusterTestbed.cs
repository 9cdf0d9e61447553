using Basis.Cluster.Membership;
using Basis.Cluster.Weights;
using Basis.Cluster.Work;

namespace Basis.Cluster.Tests;

/// <summary>One schema with the cluster tables, a manual clock and helpers to set up members, sessions and work.</summary>
internal sealed class ClusterTestbed : IAsyncDisposable
{
    public const string Secret = "correct-horse-battery-staple";

    private ClusterTestbed(ClusterDatabase database, ManualTimeProvider time, string connectionString)
    {
        Database = database;
        Time = time;
        ConnectionString = connectionString;
        Members = new MemberTable(database);
        Queue = new WorkQueue(database);
        Sessions = new SessionTable(database);
        Weights = new WeightStore(database, new WeightTransportSettings());
    }

    public ClusterDatabase Database { get; }

    public ManualTimeProvider Time { get; }

    public string ConnectionString { get; }

    public MemberTable Members { get; }

    public WorkQueue Queue { get; }

    public SessionTable Sessions { get; }

    public WeightStore Weights { get; }

    public static ClusterSettings Settings(string connectionString) => new()
    {
        Enabled = true,
        Secret = Secret,
        ConnectionString = connectionString,
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        LeaseDuration = TimeSpan.FromSeconds(5),
        FailureDetector = new FailureDetectorSettings { Timeout = TimeSpan.FromSeconds(2) },
        MaxOutstanding = 8,
        ClaimBatch = 4,
        Worker = new RolloutWorkerSettings { PollInterval = TimeSpan.FromMilliseconds(200), Threads = 1 },
    };

    public static async Task<ClusterTestbed> CreateAsync(PostgresFixture postgres)
    {
        string connectionString = await postgres.CreateSchemaAsync();
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        return new ClusterTestbed(await ClusterDatabase.OpenAsync(connectionString, time), time, connectionString);
    }

    /// <summary>Registers a member already up (as if admitted) and returns its incarnation.</summary>
    public async Task<Guid> UpMemberAsync(string nodeId, MemberStatus status = MemberStatus.Up)
    {
        var request = new JoinRequest(nodeId, Guid.NewGuid(), "rollout", "test", 1);
        await Members.JoinAsync(request, ClusterSecret.From(Secret).Sign(request), status, CancellationToken.None);
        return request.Incarnation;
    }

    /// <summary>A session with version <paramref name="version"/> published.</summary>
    public async Task<Guid> SessionAsync(long version = 0)
    {
        Guid session = await Sessions.StartAsync("learner-test", Descriptor("run-1"), CancellationToken.None);
        await Weights.PublishAsync(session, version, new float[] { 1f, 2f, 3f }, keepFrom: 0, CancellationToken.None);
        return session;
    }

    public static SessionDescriptor Descriptor(string runId) =>
        new(runId, new Dictionary<string, string>(), "0123456789", 1f, 0, 1f, 4, 0);

    public Task<long[]> EnqueueAsync(Guid session, long step, int count, long minVersion = 0) =>
        Queue.EnqueueAsync(session, step, minVersion, Enumerable.Range(0, count).Select(s => (s, new WorkPayload($"p{s}", $"{s}+1=", 0, (ulong)s))).ToList(), CancellationToken.None);

    public static ResultPayload Result(string completion) => new(completion, [1, 2], [3], [-0.5f], 0);

    public Task<long> CountAsync(string sql, params (string, object)[] parameters) =>
        PostgresFixture.ScalarAsync<long>(ConnectionString, sql, parameters);

    public ValueTask DisposeAsync() => Database.DisposeAsync();
}
