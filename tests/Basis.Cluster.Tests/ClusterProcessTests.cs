using Basis.Cluster.Membership;

namespace Basis.Cluster.Tests;

/// <summary>The done-when scenarios, with real `basis` processes on 127.0.0.1 (Akka.Remote over TLS).</summary>
public sealed class ClusterProcessTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task A_rollout_node_started_first_waits_and_joins_and_one_killed_mid_chunk_loses_nothing()
    {
        await using ClusterRun cluster = ClusterRun.Create();

        // The slow node starts before the learner, waits for it, takes a chunk and sits on it; then SIGKILL.
        BasisProcess doomed = cluster.StartWorker("w-doomed", slow: true);
        await ClusterRun.WaitForOutputAsync(doomed, "waiting to join the cluster");
        BasisProcess learner = cluster.StartLearner();
        await ClusterRun.WaitForOutputAsync(doomed, "joined the cluster");
        await ClusterRun.WaitForOutputAsync(doomed, "policy version 0");
        BasisProcess first = cluster.StartWorker("w-1");
        BasisProcess second = cluster.StartWorker("w-2");
        await ClusterRun.WaitForOutputAsync(first, "joined the cluster");
        await ClusterRun.WaitForOutputAsync(second, "joined the cluster");
        doomed.Kill();

        int exit = await learner.WaitForExitAsync(s_limit);

        Assert.True(exit == 0, $"the learner exited with {exit}:\n{learner.Output}");
        Assert.Contains("[summary]", learner.Output, StringComparison.Ordinal);
        Assert.Contains("[cluster] node w-doomed is unreachable: 1 chunk (4 rollouts) handed to other nodes", learner.Output, StringComparison.Ordinal);
        await cluster.AssertJournalAccountsForEveryPromptOnceAsync();
        cluster.AssertNoSecretLeaked();
        Assert.Contains(MembersFile.Read(cluster.RunDir), m => m.Name == "w-1" && m.Roles.SequenceEqual(["rollout"]));

        // The survivors did the work (the doomed node's chunk among it) and leave gracefully on SIGTERM.
        long rollouts = 0;
        foreach ((BasisProcess worker, string id) in new[] { (first, "w-1"), (second, "w-2") })
        {
            worker.Terminate();
            Assert.Equal(0, await worker.WaitForExitAsync(s_limit));
            System.Text.RegularExpressions.Match stopped = System.Text.RegularExpressions.Regex.Match(worker.Output, $"node {id} stopped after ([0-9]+) rollouts");
            Assert.True(stopped.Success, worker.Output);
            rollouts += long.Parse(stopped.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.True(rollouts >= cluster.Steps * ClusterRun.BatchSize, $"the surviving nodes sent {rollouts} rollouts");
    }

    [Fact]
    public async Task A_learner_killed_and_resumed_finishes_the_run_and_the_rollout_nodes_carry_on()
    {
        await using ClusterRun cluster = ClusterRun.Create(steps: 8, workerLatency: "300 ms");
        BasisProcess w1 = cluster.StartWorker("w-1");
        BasisProcess w2 = cluster.StartWorker("w-2");
        BasisProcess first = cluster.StartLearner();
        DateTime deadline = DateTime.UtcNow + s_limit;
        while (await cluster.StepsInJournalAsync() < 2)
        {
            Assert.True(DateTime.UtcNow < deadline && !first.HasExited, $"two steps never reached the journal:\n{first.Output}");
            await Task.Delay(100);
        }

        first.Kill();
        await first.WaitForExitAsync(s_limit);
        Assert.DoesNotContain("[summary]", first.Output, StringComparison.Ordinal);

        BasisProcess second = cluster.StartLearner("--resume", cluster.RunDir);
        int exit = await second.WaitForExitAsync(s_limit);

        Assert.True(exit == 0, $"the resumed learner exited with {exit}:\n{second.Output}\nw-1:\n{w1.Output}");
        Assert.Contains("[resume]", second.Output, StringComparison.Ordinal);
        await cluster.AssertJournalAccountsForEveryPromptOnceAsync();

        // The same two rollout processes, never restarted, left the dead learner's cluster and joined the new one
        // (the resumed run may finish before the slower of them is back), and between them served both sessions.
        foreach (BasisProcess worker in new[] { w1, w2 })
        {
            await ClusterRun.WaitForOutputAsync(worker, "joining again");
            Assert.False(worker.HasExited, worker.Output);
        }

        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(w1.Output + w2.Output, @"serving run .* \(session (\w+)\)").Select(m => m.Groups[1].Value).Distinct().Count());
        Assert.Matches("node w-[12] \\(rollout", second.Output);
        cluster.AssertNoSecretLeaked();
    }

    [Fact]
    public async Task A_node_with_another_certificate_is_refused_and_one_without_a_certificate_is_told_what_to_set()
    {
        await using ClusterRun cluster = ClusterRun.Create();
        BasisProcess learner = cluster.StartLearner();
        await ClusterRun.WaitForOutputAsync(learner, "[cluster] learner");

        BasisProcess intruder = cluster.StartWorker("w-intruder", certificate: "intruder");
        BasisProcess bare = cluster.StartWorker("w-bare", certificate: "none");
        int intruderExit = await intruder.WaitForExitAsync(s_limit);
        int bareExit = await bare.WaitForExitAsync(s_limit);

        Assert.Equal(3, intruderExit);
        Assert.Contains("basis worker: the cluster refused node 'w-intruder': the TLS handshake with", intruder.Output, StringComparison.Ordinal);
        Assert.Contains("Check that this node has the cluster's certificate", intruder.Output, StringComparison.Ordinal);
        Assert.Equal(3, bareExit);
        Assert.Contains("basis worker: this node has no TLS certificate", bare.Output, StringComparison.Ordinal);
        Assert.Contains("Set BASIS_CLUSTER_CERT", bare.Output, StringComparison.Ordinal);

        // Akka.Remote logs the failed handshake with its exception; the node's last word is the plain reason.
        Assert.StartsWith("basis worker: the cluster refused node 'w-intruder'", intruder.Output.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bare.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(TestCertificates.Password, cluster.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(MembersFile.Read(cluster.RunDir), m => m.Name is "w-intruder" or "w-bare");
        Assert.False(learner.HasExited, learner.Output);
    }
}
