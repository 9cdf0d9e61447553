using Basis.Cluster.Membership;
using Basis.Cluster.Work;

namespace Basis.Cluster.Tests;

public sealed class WorkQueueTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan s_lease = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Concurrent_claimers_never_share_an_item_and_none_claims_more_than_its_limit()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        long[] ids = await bed.EnqueueAsync(session, step: 0, count: 60);
        string[] nodes = ["a", "b", "c", "d"];
        var incarnations = new Dictionary<string, Guid>();
        foreach (string node in nodes)
        {
            incarnations[node] = await bed.UpMemberAsync(node);
        }

        async Task<List<LeasedItem>> ClaimAllAsync(string node)
        {
            var mine = new List<LeasedItem>();
            while (true)
            {
                IReadOnlyList<LeasedItem> batch = await bed.Queue.ClaimAsync(node, incarnations[node], 3, s_lease, CancellationToken.None);
                Assert.True(batch.Count <= 3, $"{node} claimed {batch.Count} items with a limit of 3");
                if (batch.Count == 0)
                {
                    return mine;
                }

                mine.AddRange(batch);
            }
        }

        List<LeasedItem>[] claimed = await Task.WhenAll(nodes.Select(n => Task.Run(() => ClaimAllAsync(n))));

        long[] all = claimed.SelectMany(c => c.Select(i => i.ItemId)).Order().ToArray();
        Assert.Equal(ids.Order(), all);
        Assert.All(claimed.SelectMany(c => c), i => Assert.Equal(1, i.Attempt));
        Assert.Equal(60, await bed.CountAsync("SELECT count(*) FROM cluster_work WHERE status = 'leased'"));
    }

    [Fact]
    public async Task Enqueue_returns_ids_in_the_order_of_the_items_and_claims_come_oldest_first()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        long[] first = await bed.EnqueueAsync(session, step: 0, count: 5);
        long[] second = await bed.EnqueueAsync(session, step: 1, count: 5);
        Guid a = await bed.UpMemberAsync("a");

        IReadOnlyList<LeasedItem> leased = await bed.Queue.ClaimAsync("a", a, 7, s_lease, CancellationToken.None);

        Assert.Equal(first.Concat(second.Take(2)), leased.Select(i => i.ItemId));
        Assert.Equal([0, 1, 2, 3, 4, 0, 1], leased.Select(i => i.Slot));
        Assert.Equal("p3", leased[3].Payload.PromptId);
        Assert.Equal(3UL, leased[3].Payload.Seed);
    }

    [Fact]
    public async Task Items_wait_until_the_weight_version_they_need_is_published()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync(version: 0);
        await bed.EnqueueAsync(session, step: 1, count: 2, minVersion: 1);
        Guid a = await bed.UpMemberAsync("a");

        Assert.Empty(await bed.Queue.ClaimAsync("a", a, 8, s_lease, CancellationToken.None));
        await bed.Weights.PublishAsync(session, 1, new float[] { 4f, 5f, 6f }, keepFrom: 0, CancellationToken.None);
        Assert.Equal(2, (await bed.Queue.ClaimAsync("a", a, 8, s_lease, CancellationToken.None)).Count);
    }

    [Theory]
    [InlineData(MemberStatus.Joining)]
    [InlineData(MemberStatus.Down)]
    [InlineData(MemberStatus.Refused)]
    public async Task A_node_that_is_not_up_claims_nothing(MemberStatus status)
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        await bed.EnqueueAsync(session, step: 0, count: 2);
        Guid a = await bed.UpMemberAsync("a", status);

        Assert.Empty(await bed.Queue.ClaimAsync("a", a, 8, s_lease, CancellationToken.None));

        // A stale incarnation of an up node is not up either.
        await bed.UpMemberAsync("b");
        Assert.Empty(await bed.Queue.ClaimAsync("b", Guid.NewGuid(), 8, s_lease, CancellationToken.None));
    }

    [Fact]
    public async Task An_expired_lease_is_claimed_again_and_the_late_result_of_the_first_attempt_is_harmless()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        long[] ids = await bed.EnqueueAsync(session, step: 0, count: 1);
        Guid a = await bed.UpMemberAsync("a");
        Guid b = await bed.UpMemberAsync("b");

        LeasedItem first = Assert.Single(await bed.Queue.ClaimAsync("a", a, 1, s_lease, CancellationToken.None));
        Assert.Empty(await bed.Queue.ClaimAsync("b", b, 1, s_lease, CancellationToken.None));
        bed.Time.Advance(s_lease + TimeSpan.FromMilliseconds(1));
        LeasedItem second = Assert.Single(await bed.Queue.ClaimAsync("b", b, 1, s_lease, CancellationToken.None));
        Assert.Equal((ids[0], 1, 2), (first.ItemId, first.Attempt, second.Attempt));

        await bed.Queue.CompleteAsync("b", [(second, ClusterTestbed.Result("from-b"))], CancellationToken.None);
        await bed.Queue.CompleteAsync("a", [(first, ClusterTestbed.Result("from-a"))], CancellationToken.None);
        await bed.Queue.CompleteAsync("a", [(first, ClusterTestbed.Result("from-a-again"))], CancellationToken.None);

        CollectedResult collected = Assert.Single(await bed.Queue.CollectAsync(session, CancellationToken.None));
        Assert.Equal(("b", 2, "from-b"), (collected.Worker, collected.Attempt, collected.Payload.Completion));
        Assert.Empty(await bed.Queue.CollectAsync(session, CancellationToken.None));
        Assert.Equal(2, await bed.CountAsync("SELECT count(*) FROM cluster_result"));
    }

    [Fact]
    public async Task Heartbeats_renew_the_leases_of_a_live_node()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        await bed.EnqueueAsync(session, step: 0, count: 2);
        Guid a = await bed.UpMemberAsync("a");
        Guid b = await bed.UpMemberAsync("b");
        Assert.Equal(2, (await bed.Queue.ClaimAsync("a", a, 2, s_lease, CancellationToken.None)).Count);

        bed.Time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(MemberStatus.Up, (await bed.Members.HeartbeatAsync("a", a, s_lease, CancellationToken.None))?.Status);
        bed.Time.Advance(TimeSpan.FromSeconds(4));

        Assert.Empty(await bed.Queue.ClaimAsync("b", b, 2, s_lease, CancellationToken.None));
        bed.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, (await bed.Queue.ClaimAsync("b", b, 2, s_lease, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_new_session_of_a_run_cancels_the_open_work_of_the_previous_one()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid old = await bed.SessionAsync();
        await bed.EnqueueAsync(old, step: 0, count: 3);
        Guid a = await bed.UpMemberAsync("a");
        LeasedItem leased = (await bed.Queue.ClaimAsync("a", a, 1, s_lease, CancellationToken.None))[0];

        Guid fresh = await bed.SessionAsync();
        await bed.Queue.CompleteAsync("a", [(leased, ClusterTestbed.Result("late"))], CancellationToken.None);

        Assert.NotEqual(old, fresh);
        Assert.Empty(await bed.Queue.ClaimAsync("a", a, 8, s_lease, CancellationToken.None));
        Assert.Empty(await bed.Queue.CollectAsync(old, CancellationToken.None));
        Assert.Equal(3, await bed.CountAsync("SELECT count(*) FROM cluster_work WHERE status = 'cancelled'"));
    }

    [Fact]
    public async Task An_item_released_with_errors_max_attempts_times_fails_with_its_last_error_and_is_never_claimed_again()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        long[] ids = await bed.Queue.EnqueueAsync(session, 4, 0, [(0, new WorkPayload("p0", "0+1=", 0, 0)), (1, new WorkPayload("p1", "1+1=", 0, 1))], CancellationToken.None, maxAttempts: 3);
        Guid a = await bed.UpMemberAsync("a");
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            IReadOnlyList<LeasedItem> leased = await bed.Queue.ClaimAsync("a", a, 2, s_lease, CancellationToken.None);
            LeasedItem poison = Assert.Single(leased, i => i.ItemId == ids[0]);
            Assert.Equal(attempt, poison.Attempt);
            await bed.Queue.ReleaseAsync("a", [poison], CancellationToken.None, $"boom {attempt}");
            if (leased.FirstOrDefault(i => i.ItemId == ids[1]) is LeasedItem healthy)
            {
                await bed.Queue.CompleteAsync("a", [(healthy, ClusterTestbed.Result("ok"))], CancellationToken.None);
            }
        }

        Assert.Empty(await bed.Queue.ClaimAsync("a", a, 2, s_lease, CancellationToken.None));
        FailedItem failed = Assert.Single(await bed.Queue.FailedAsync(session, CancellationToken.None));
        Assert.Equal((ids[0], 4L, 0, 3, "boom 3"), (failed.ItemId, failed.Step, failed.Slot, failed.Attempts, failed.LastError));
        Assert.Equal(ids[1], Assert.Single(await bed.Queue.CollectAsync(session, CancellationToken.None)).ItemId);
    }

    [Fact]
    public async Task An_item_whose_leases_keep_expiring_fails_after_max_attempts_without_an_error()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        long[] ids = await bed.Queue.EnqueueAsync(session, 0, 0, [(0, new WorkPayload("p0", "0+1=", 0, 0))], CancellationToken.None, maxAttempts: 2);
        Guid a = await bed.UpMemberAsync("a");
        Assert.Single(await bed.Queue.ClaimAsync("a", a, 1, s_lease, CancellationToken.None));
        bed.Time.Advance(s_lease + TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, Assert.Single(await bed.Queue.ClaimAsync("a", a, 1, s_lease, CancellationToken.None)).Attempt);
        Assert.Empty(await bed.Queue.FailedAsync(session, CancellationToken.None));

        // The second lease is still live: nothing fails yet. Once it expires, the next claim fails the item instead of leasing it.
        Assert.Empty(await bed.Queue.ClaimAsync("a", a, 1, s_lease, CancellationToken.None));
        Assert.Empty(await bed.Queue.FailedAsync(session, CancellationToken.None));
        bed.Time.Advance(s_lease + TimeSpan.FromMilliseconds(1));
        Assert.Empty(await bed.Queue.ClaimAsync("a", a, 1, s_lease, CancellationToken.None));
        FailedItem failed = Assert.Single(await bed.Queue.FailedAsync(session, CancellationToken.None));
        Assert.Equal((ids[0], 2, (string?)null), (failed.ItemId, failed.Attempts, failed.LastError));
    }

    [Fact]
    public async Task Pruning_deletes_collected_and_cancelled_items_with_their_results_and_a_late_result_for_one_is_dropped()
    {
        await using ClusterTestbed bed = await ClusterTestbed.CreateAsync(postgres);
        Guid session = await bed.SessionAsync();
        long[] ids = await bed.EnqueueAsync(session, step: 0, count: 4);
        Guid a = await bed.UpMemberAsync("a");
        Guid b = await bed.UpMemberAsync("b");
        IReadOnlyList<LeasedItem> leased = await bed.Queue.ClaimAsync("a", a, 3, s_lease, CancellationToken.None);
        bed.Time.Advance(s_lease + TimeSpan.FromMilliseconds(1));
        LeasedItem retaken = Assert.Single(await bed.Queue.ClaimAsync("b", b, 1, s_lease, CancellationToken.None));
        Assert.Equal(ids[0], retaken.ItemId);
        await bed.Queue.CompleteAsync("b", [(retaken, ClusterTestbed.Result("b0"))], CancellationToken.None);
        await bed.Queue.CompleteAsync("a", [(leased[1], ClusterTestbed.Result("a1"))], CancellationToken.None);
        Assert.Equal(2, (await bed.Queue.CollectAsync(session, CancellationToken.None)).Count);
        await bed.Queue.CancelAsync([ids[2]], CancellationToken.None);

        Assert.Equal(3, await bed.Queue.PruneAsync(session, CancellationToken.None));
        Assert.Equal(1, await bed.CountAsync("SELECT count(*) FROM cluster_work"));
        Assert.Equal(0, await bed.CountAsync("SELECT count(*) FROM cluster_result"));

        // a's late result for item 0 (collected and pruned) is dropped without an error; item 3 is untouched.
        await bed.Queue.CompleteAsync("a", [(leased[0], ClusterTestbed.Result("late"))], CancellationToken.None);
        Assert.Equal(0, await bed.CountAsync("SELECT count(*) FROM cluster_result"));
        Assert.Equal(ids[3], Assert.Single(await bed.Queue.ClaimAsync("b", b, 4, s_lease, CancellationToken.None)).ItemId);
    }
}
