using Basis.Cluster.Membership;

namespace Basis.Cluster.Tests;

/// <summary>The done-when scenarios, with real `basis` processes on 127.0.0.1 and a real PostgreSQL.</summary>
public sealed class ClusterProcessTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_learner_and_three_workers_train_and_a_worker_killed_mid_batch_loses_nothing()
    {
        await using ClusterRun cluster = await ClusterRun.CreateAsync(postgres);
        BasisProcess learner = cluster.StartLearner();

        // The slow worker takes the first batch and sits on it; once it holds leases, SIGKILL.
        BasisProcess doomed = cluster.StartWorker("w-doomed", slow: true);
        await cluster.WaitForRowsAsync("SELECT count(*) FROM cluster_work WHERE owner = 'w-doomed' AND status = 'leased'", "w-doomed to lease items", learner);
        BasisProcess first = cluster.StartWorker("w-1");
        BasisProcess second = cluster.StartWorker("w-2");
        long held = await PostgresFixture.ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM cluster_work WHERE owner = 'w-doomed' AND status = 'leased'");
        doomed.Kill();

        int exit = await learner.WaitForExitAsync(s_limit);

        Assert.True(exit == 0, $"the learner exited with {exit}:\n{learner.Output}");
        Assert.True(held > 0);
        Assert.Contains("node w-doomed is down", learner.Output, StringComparison.Ordinal);
        Assert.Contains($"[summary]", learner.Output, StringComparison.Ordinal);
        Assert.Equal(0, await PostgresFixture.ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM cluster_result WHERE worker = 'w-doomed'"));
        Assert.True(
            await PostgresFixture.ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM cluster_work WHERE attempt >= 2 AND status = 'collected'") >= held,
            "the killed worker's items were not re-leased");
        Assert.Equal("down", await PostgresFixture.ScalarAsync<string>(cluster.ConnectionString, "SELECT status FROM cluster_member WHERE node_id = 'w-doomed'"));
        Assert.Equal(cluster.Steps * ClusterRun.BatchSize, await PostgresFixture.ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM cluster_work WHERE status = 'collected'"));
        await cluster.AssertJournalAccountsForEveryPromptOnceAsync();
        Assert.DoesNotContain(ClusterRun.Secret, learner.Output + first.Output + second.Output + doomed.Output, StringComparison.Ordinal);

        // Both survivors did work and leave gracefully on SIGTERM.
        foreach ((BasisProcess worker, string id) in new[] { (first, "w-1"), (second, "w-2") })
        {
            worker.Terminate();
            Assert.Equal(0, await worker.WaitForExitAsync(s_limit));
            Assert.Contains($"node {id} stopped after", worker.Output, StringComparison.Ordinal);
        }

        Assert.Equal(0, await PostgresFixture.ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM cluster_member WHERE node_id IN ('w-1', 'w-2') AND status <> 'down'"));
    }

    [Fact]
    public async Task A_worker_with_a_wrong_secret_is_refused_with_a_clear_message()
    {
        await using ClusterRun cluster = await ClusterRun.CreateAsync(postgres);
        ClusterSettings settings = ClusterTestbed.Settings(cluster.ConnectionString);
        settings.Secret = ClusterRun.Secret;
        await using ClusterDatabase database = await ClusterDatabase.OpenAsync(cluster.ConnectionString);
        await using var coordinator = new ClusterCoordinator(database, settings, ClusterSecret.From(ClusterRun.Secret), "learner", TextWriter.Null);
        coordinator.Start();
        const string wrong = "a-different-secret-99";

        BasisProcess intruder = cluster.StartWorker("w-intruder", secret: wrong);
        int exit = await intruder.WaitForExitAsync(s_limit);

        Assert.Equal(3, exit);
        Assert.Contains("basis worker: the cluster refused node 'w-intruder': its join HMAC does not match the cluster secret", intruder.Output, StringComparison.Ordinal);
        Assert.Contains("Check that BASIS_CLUSTER_SECRET holds the same secret as on the learner", intruder.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, intruder.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(ClusterRun.Secret, intruder.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", intruder.Output, StringComparison.Ordinal);
        Assert.Equal("refused", await PostgresFixture.ScalarAsync<string>(cluster.ConnectionString, "SELECT status FROM cluster_member WHERE node_id = 'w-intruder'"));
    }

    [Fact]
    public async Task A_worker_without_a_secret_says_which_variable_to_set()
    {
        await using ClusterRun cluster = await ClusterRun.CreateAsync(postgres);

        BasisProcess worker = cluster.StartWorker("w-nosecret", secret: string.Empty);
        int exit = await worker.WaitForExitAsync(s_limit);

        Assert.Equal(1, exit);
        Assert.Contains("basis worker: basis.cluster.secret is not set: export BASIS_CLUSTER_SECRET", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_learner_killed_and_resumed_finishes_the_run_and_the_workers_carry_on()
    {
        await using ClusterRun cluster = await ClusterRun.CreateAsync(postgres, steps: 8, workerLatency: "300 ms");
        BasisProcess first = cluster.StartLearner();
        BasisProcess w1 = cluster.StartWorker("w-1");
        BasisProcess w2 = cluster.StartWorker("w-2");
        await cluster.WaitForRowsAsync(
            "SELECT (count(*) >= 2)::int::bigint FROM journal WHERE persistence_id = 'learner' AND manifest LIKE 'PolicyUpdated%'",
            "two steps in the journal",
            first);
        first.Kill();
        await first.WaitForExitAsync(s_limit);
        Assert.DoesNotContain("[summary]", first.Output, StringComparison.Ordinal);

        BasisProcess second = cluster.StartLearner("--resume", cluster.RunDir);
        int exit = await second.WaitForExitAsync(s_limit);

        Assert.True(exit == 0, $"the resumed learner exited with {exit}:\n{second.Output}");
        Assert.Contains("[resume]", second.Output, StringComparison.Ordinal);
        await cluster.AssertJournalAccountsForEveryPromptOnceAsync();

        // The same two worker processes served both learner sessions, never restarted.
        Assert.False(w1.HasExited, w1.Output);
        Assert.False(w2.HasExited, w2.Output);
        Assert.Equal(2, await PostgresFixture.ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM cluster_session"));
        Assert.True(await PostgresFixture.ScalarAsync<long>(
            cluster.ConnectionString,
            """
            SELECT count(*) FROM cluster_result r JOIN cluster_work w ON w.item_id = r.item_id
            WHERE r.worker IN ('w-1', 'w-2') AND w.session_id = (SELECT session_id FROM cluster_session ORDER BY started_at DESC LIMIT 1)
            """) > 0);
        Assert.Contains("serving run", w1.Output + w2.Output, StringComparison.Ordinal);
    }
}
