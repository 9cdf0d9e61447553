using Basis.Cluster.Membership;
using Basis.Cluster.Work;

namespace Basis.Cluster.Tests;

public sealed class MembershipTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task The_coordinator_admits_a_node_that_proves_the_secret_and_refuses_one_that_does_not()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        var log = new StringWriter();
        await using var coordinator = new ClusterCoordinator(bed.Database, ClusterTestbed.Settings(bed.ConnectionString), ClusterSecret.From(ClusterTestbed.Secret), "learner", log);
        var good = new JoinRequest("good", Guid.NewGuid(), "rollout", "host-a/1", 2);
        var bad = new JoinRequest("bad", Guid.NewGuid(), "rollout", "host-b/2", 2);
        var forged = new JoinRequest("forged", Guid.NewGuid(), "rollout", "host-c/3", 2);
        const string wrongSecret = "not-the-cluster-secret";
        await bed.Members.JoinAsync(good, ClusterSecret.From(ClusterTestbed.Secret).Sign(good), MemberStatus.Joining, CancellationToken.None);
        await bed.Members.JoinAsync(bad, ClusterSecret.From(wrongSecret).Sign(bad), MemberStatus.Joining, CancellationToken.None);

        // A valid HMAC of another request proves nothing about this one.
        await bed.Members.JoinAsync(forged, ClusterSecret.From(ClusterTestbed.Secret).Sign(forged with { Slots = 1 }), MemberStatus.Joining, CancellationToken.None);

        await coordinator.CheckAsync(CancellationToken.None);

        Dictionary<string, Member> members = (await bed.Members.ListAsync(CancellationToken.None)).ToDictionary(m => m.NodeId);
        Assert.Equal(MemberStatus.Up, members["good"].Status);
        Assert.Equal(MemberStatus.Refused, members["bad"].Status);
        Assert.Equal(MemberStatus.Refused, members["forged"].Status);
        Assert.Contains("HMAC does not match the cluster secret", members["bad"].Reason, StringComparison.Ordinal);
        Assert.Contains("refused node bad", log.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(ClusterTestbed.Secret, log.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(wrongSecret, log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_node_is_downed_and_its_leased_work_goes_back_to_the_queue_at_once()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        ClusterSettings settings = ClusterTestbed.Settings(bed.ConnectionString);
        var log = new StringWriter();
        await using var coordinator = new ClusterCoordinator(bed.Database, settings, ClusterSecret.From(ClusterTestbed.Secret), "learner", log);
        Guid session = await bed.SessionAsync();
        await bed.EnqueueAsync(session, step: 0, count: 3);
        Guid silent = await bed.UpMemberAsync("silent");
        Guid alive = await bed.UpMemberAsync("alive");
        Assert.Equal(3, (await bed.Queue.ClaimAsync("silent", silent, 3, settings.LeaseDuration, CancellationToken.None)).Count);
        await coordinator.CheckAsync(CancellationToken.None);

        bed.Time.Advance(settings.FailureDetector.Timeout);
        await bed.Members.HeartbeatAsync("alive", alive, settings.LeaseDuration, CancellationToken.None);
        await coordinator.CheckAsync(CancellationToken.None);
        Assert.Equal(MemberStatus.Up, (await bed.Members.ListAsync(CancellationToken.None)).Single(m => m.NodeId == "silent").Status);

        bed.Time.Advance(TimeSpan.FromMilliseconds(1));
        await bed.Members.HeartbeatAsync("alive", alive, settings.LeaseDuration, CancellationToken.None);
        await coordinator.CheckAsync(CancellationToken.None);

        Dictionary<string, Member> members = (await bed.Members.ListAsync(CancellationToken.None)).ToDictionary(m => m.NodeId);
        Assert.Equal(MemberStatus.Down, members["silent"].Status);
        Assert.StartsWith("unreachable: silent for 2.0 s", members["silent"].Reason, StringComparison.Ordinal);
        Assert.Equal(MemberStatus.Up, members["alive"].Status);
        Assert.Contains("node silent is down", log.ToString(), StringComparison.Ordinal);
        Assert.Contains("3 leased items back in the queue", log.ToString(), StringComparison.Ordinal);

        // Well before the lease would have expired, another node takes the work as attempt 2.
        IReadOnlyList<LeasedItem> retaken = await bed.Queue.ClaimAsync("alive", alive, 8, settings.LeaseDuration, CancellationToken.None);
        Assert.Equal(3, retaken.Count);
        Assert.All(retaken, i => Assert.Equal(2, i.Attempt));

        // The downed incarnation's heartbeat tells it so (it then joins again as a new incarnation).
        Assert.Equal(MemberStatus.Down, (await bed.Members.HeartbeatAsync("silent", silent, settings.LeaseDuration, CancellationToken.None))?.Status);
    }

    [Fact]
    public async Task A_graceful_leave_marks_the_node_down_and_requeues_its_work()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        await bed.EnqueueAsync(session, step: 0, count: 2);
        Guid a = await bed.UpMemberAsync("a");
        Guid b = await bed.UpMemberAsync("b");
        await bed.Queue.ClaimAsync("a", a, 2, TimeSpan.FromMinutes(5), CancellationToken.None);

        await bed.Members.LeaveAsync("a", a, CancellationToken.None);

        Assert.Equal(MemberStatus.Down, (await bed.Members.ListAsync(CancellationToken.None)).Single(m => m.NodeId == "a").Status);
        Assert.Equal(2, (await bed.Queue.ClaimAsync("b", b, 2, TimeSpan.FromMinutes(5), CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_leaving_node_claims_nothing_more_and_is_down_once_it_has_left()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        ClusterSettings settings = ClusterTestbed.Settings(bed.ConnectionString);
        Guid session = await bed.SessionAsync();
        await bed.EnqueueAsync(session, step: 0, count: 2);
        var node = new ClusterNode(bed.Database, settings, ClusterSecret.From(ClusterTestbed.Secret), "n", "rollout", 1, TextWriter.Null, selfAdmit: true);
        await node.StartAsync(CancellationToken.None);
        Assert.Single(await bed.Queue.ClaimAsync("n", node.Incarnation, 1, settings.LeaseDuration, CancellationToken.None));

        await node.BeginLeaveAsync();

        Assert.Equal(MemberStatus.Leaving, node.Status);
        Assert.Equal(MemberStatus.Leaving, (await bed.Members.ListAsync(CancellationToken.None)).Single().Status);
        Assert.Empty(await bed.Queue.ClaimAsync("n", node.Incarnation, 1, settings.LeaseDuration, CancellationToken.None));
        await node.DisposeAsync();
        Assert.Equal(MemberStatus.Down, (await bed.Members.ListAsync(CancellationToken.None)).Single().Status);
        Assert.Equal(2, await bed.CountAsync("SELECT count(*) FROM cluster_work WHERE status = 'queued'"));
    }
}
