using Akka.Actor;
using Akka.TestKit.Xunit;
using Basis.Cluster.Learner;
using Basis.Cluster.Protocol;
using Basis.Tasks;
using Basis.Training.Graph;

namespace Basis.Cluster.Tests;

/// <summary>The work-pulling protocol with probes standing in for proxies and rollout slots (no cluster: lost nodes are reported directly).</summary>
public sealed class RolloutDispatcherTests : TestKit
{
    private static readonly SessionInfo s_session = new(Guid.NewGuid(), "run", new Dictionary<string, string>(), "0123456789+=", 1f, 0, 1f, 4, 0);

    private static WorkChunk Chunk(long step, params int[] slots) => new(
        step,
        slots.Select(s => new WorkItem(step, s, 0, new TaskPrompt($"p{s}", $"{s}+1=", $"{s + 1}", "easy", "exact"), null, (ulong)s)).ToArray());

    private static RolloutResult[] Results(int count, string completion) =>
        Enumerable.Range(0, count).Select(_ => new RolloutResult(completion, [1], [2], [-0.5f], 0)).ToArray();

    private IActorRef Dispatcher(int maxAttempts = 5) => Sys.ActorOf(RolloutDispatcher.Props(s_session, maxAttempts, TextWriter.Null, watchCluster: false));

    [Fact]
    public void Work_goes_only_to_slots_that_ask_one_chunk_per_request_oldest_first()
    {
        IActorRef dispatcher = Dispatcher();
        var proxy = CreateTestProbe();
        var slot = CreateTestProbe();

        dispatcher.Tell(new RolloutDispatcher.Submit(1, 0, Chunk(0, 0, 1)), proxy.Ref);
        dispatcher.Tell(new RolloutDispatcher.Submit(2, 0, Chunk(0, 2, 3)), proxy.Ref);
        slot.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        dispatcher.Tell(new RequestWork(0), slot.Ref);
        WorkAssignment first = slot.ExpectMsg<WorkAssignment>();
        slot.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        dispatcher.Tell(new RequestWork(0), slot.Ref);
        WorkAssignment second = slot.ExpectMsg<WorkAssignment>();

        Assert.Equal([1L, 2L], new[] { first.WorkId, second.WorkId });
        Assert.Equal([0, 1], first.Items.Select(i => i.Slot));
        Assert.Equal(s_session.SessionId, first.SessionId);
        Assert.Equal(1, first.Attempt);
    }

    [Fact]
    public void A_lost_nodes_chunk_goes_to_another_node_and_its_late_result_is_dropped_so_the_chunk_completes_once()
    {
        IActorRef dispatcher = Dispatcher();
        var proxy = CreateTestProbe();
        var doomed = CreateTestProbe();
        var survivor = CreateTestProbe();
        dispatcher.Tell(new RolloutDispatcher.Submit(7, 0, Chunk(3, 4, 5)), proxy.Ref);
        dispatcher.Tell(new RequestWork(0), doomed.Ref);
        WorkAssignment lost = doomed.ExpectMsg<WorkAssignment>();

        // Probes live in this ActorSystem, so the lost node's address is the test system's own.
        dispatcher.Tell(new RolloutDispatcher.NodeLost(doomed.Ref.Path.Address, "unreachable"));
        dispatcher.Tell(new RequestWork(0), survivor.Ref);
        WorkAssignment retry = survivor.ExpectMsg<WorkAssignment>();

        Assert.Equal(7, retry.WorkId);
        Assert.Equal(2, retry.Attempt);

        // The first owner comes back late: its result is not the current attempt's and is dropped.
        dispatcher.Tell(new WorkDone(7, lost.Attempt, Results(2, "late")), doomed.Ref);
        proxy.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        dispatcher.Tell(new WorkDone(7, retry.Attempt, Results(2, "kept")), survivor.Ref);
        RolloutDispatcher.ChunkDone done = proxy.ExpectMsg<RolloutDispatcher.ChunkDone>();
        Assert.Equal(["kept", "kept"], done.Rollouts.Select(r => r.Completion));
        Assert.Equal([(3L, 4), (3L, 5)], done.Rollouts.Select(r => (r.Work.Step, r.Work.Slot)));

        // A duplicate of the kept result changes nothing either.
        dispatcher.Tell(new WorkDone(7, retry.Attempt, Results(2, "again")), survivor.Ref);
        proxy.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        dispatcher.Tell(RolloutDispatcher.GetStats.Instance, TestActor);
        Assert.Equal(new RolloutDispatcher.DispatcherStats(0, 0, 0, 2), ExpectMsg<RolloutDispatcher.DispatcherStats>());
    }

    [Fact]
    public void A_result_from_another_slot_than_the_owner_is_dropped()
    {
        IActorRef dispatcher = Dispatcher();
        var proxy = CreateTestProbe();
        var owner = CreateTestProbe();
        var stranger = CreateTestProbe();
        dispatcher.Tell(new RolloutDispatcher.Submit(1, 0, Chunk(0, 0)), proxy.Ref);
        dispatcher.Tell(new RequestWork(0), owner.Ref);
        WorkAssignment assignment = owner.ExpectMsg<WorkAssignment>();

        dispatcher.Tell(new WorkDone(1, assignment.Attempt, Results(1, "forged")), stranger.Ref);

        proxy.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_chunk_that_fails_on_every_attempt_fails_its_proxy_naming_the_step_slots_and_error()
    {
        IActorRef dispatcher = Dispatcher(maxAttempts: 2);
        var proxy = CreateTestProbe();
        var slot = CreateTestProbe();
        dispatcher.Tell(new RolloutDispatcher.Submit(9, 0, Chunk(4, 6)), proxy.Ref);

        for (int attempt = 1; attempt <= 2; attempt++)
        {
            dispatcher.Tell(new RequestWork(0), slot.Ref);
            WorkAssignment a = slot.ExpectMsg<WorkAssignment>();
            Assert.Equal(attempt, a.Attempt);
            dispatcher.Tell(new WorkFailed(9, a.Attempt, "ArgumentException: prompt too long"), slot.Ref);
        }

        Status.Failure failure = proxy.ExpectMsg<Status.Failure>();
        var error = Assert.IsType<ClusterWorkFailedException>(failure.Cause);
        Assert.Contains("(step 4, slots 6) failed 2 attempts", error.Message, StringComparison.Ordinal);
        Assert.Contains("ArgumentException: prompt too long", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lost_nodes_do_not_count_against_max_attempts()
    {
        IActorRef dispatcher = Dispatcher(maxAttempts: 1);
        var proxy = CreateTestProbe();
        dispatcher.Tell(new RolloutDispatcher.Submit(3, 0, Chunk(1, 2)), proxy.Ref);

        for (int attempt = 1; attempt <= 3; attempt++)
        {
            var slot = CreateTestProbe();
            dispatcher.Tell(new RequestWork(0), slot.Ref);
            Assert.Equal(attempt, slot.ExpectMsg<WorkAssignment>().Attempt);
            dispatcher.Tell(new RolloutDispatcher.NodeLost(slot.Ref.Path.Address, "unreachable"));
        }

        var last = CreateTestProbe();
        dispatcher.Tell(new RequestWork(0), last.Ref);
        WorkAssignment fourth = last.ExpectMsg<WorkAssignment>();
        dispatcher.Tell(new WorkDone(3, fourth.Attempt, Results(1, "done")), last.Ref);
        Assert.Equal("done", proxy.ExpectMsg<RolloutDispatcher.ChunkDone>().Rollouts.Single().Completion);
    }

    [Fact]
    public void A_cancelled_chunk_is_not_handed_out()
    {
        IActorRef dispatcher = Dispatcher();
        var proxy = CreateTestProbe();
        var slot = CreateTestProbe();
        dispatcher.Tell(new RolloutDispatcher.Submit(1, 0, Chunk(0, 0)), proxy.Ref);
        dispatcher.Tell(new RolloutDispatcher.Cancel(1));

        dispatcher.Tell(new RequestWork(0), slot.Ref);

        slot.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
