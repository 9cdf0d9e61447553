using System.Diagnostics;
using Akka.Actor;
using Basis.Cluster.Protocol;
using Basis.Tasks;
using Basis.Training.Graph;

namespace Basis.Cluster.Worker;

/// <summary>
/// One generator of a rollout node (one device). Work pulling: while idle it asks the learner's
/// dispatcher for a chunk (again every few seconds, in case a request was lost with a learner or a
/// partition); with a chunk it loads the weights the chunk needs, samples, answers and asks again.
/// It never holds more than one chunk, so a node's work in flight is its slots.
/// </summary>
internal sealed class RolloutSlot : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan s_askAgain = TimeSpan.FromSeconds(2);
    private readonly int _slot;
    private readonly SessionCache _sessions;
    private readonly ClusterSettings _settings;
    private readonly NodeCounters _counters;
    private readonly TextWriter _log;
    private readonly string _nodeId;
    private readonly CancellationTokenSource _stop = new();
    private ActorSelection? _dispatcher;
    private ActorSelection? _weights;

    public RolloutSlot(int slot, SessionCache sessions, ClusterSettings settings, NodeCounters counters, TextWriter log, string nodeId)
    {
        _slot = slot;
        _sessions = sessions;
        _settings = settings;
        _counters = counters;
        _log = log;
        _nodeId = nodeId;
        Receive<LearnerUp>(up =>
        {
            _dispatcher = up.Dispatcher;
            _weights = up.Weights;
            AskForWork();
        });
        Receive<AskAgain>(_ => _dispatcher?.Tell(new RequestWork(_slot), Self));
        ReceiveAsync<WorkAssignment>(OnAssignmentAsync);
        Receive<Finished>(_ => AskForWork());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(int slot, SessionCache sessions, ClusterSettings settings, NodeCounters counters, TextWriter log, string nodeId) =>
        Akka.Actor.Props.Create(() => new RolloutSlot(slot, sessions, settings, counters, log, nodeId));

    protected override void PostStop()
    {
        _stop.Cancel();
        _stop.Dispose();
    }

    private void AskForWork()
    {
        _dispatcher?.Tell(new RequestWork(_slot), Self);
        Timers.StartPeriodicTimer(nameof(AskAgain), AskAgain.Instance, s_askAgain);
    }

    // The mailbox waits while this runs; what needs the actor's context is done before the first await or in Finished.
    private async Task OnAssignmentAsync(WorkAssignment assignment)
    {
        // Stale AskAgain messages of a cancelled timer are discarded: a busy slot asks for nothing.
        Timers.Cancel(nameof(AskAgain));
        IActorRef dispatcher = Sender;
        IActorRef self = Self;
        long started = Stopwatch.GetTimestamp();
        try
        {
            SessionRuntime session = await _sessions.GetAsync(assignment.SessionId, dispatcher, _weights!, _stop.Token);
            if (await session.EnsureVersionAsync(assignment.MinVersion, _stop.Token).ConfigureAwait(false))
            {
                _log.WriteLine($"[worker] {_nodeId}: policy version {session.Version}");
            }

            WorkItem[] items = assignment.Items
                .Select(i => new WorkItem(assignment.Step, i.Slot, i.GroupIndex, new TaskPrompt(i.PromptId, i.Prompt, Gold: string.Empty, Difficulty: string.Empty, Verifier: string.Empty), Offline: null, i.Seed))
                .ToArray();
            IRolloutWorker generator = session.Generator(_slot);
            IReadOnlyList<Rollout> rollouts = await Task.Run(() => generator.GenerateAsync(new WorkChunk(assignment.Step, items), _stop.Token).AsTask(), _stop.Token);
            TimeSpan remaining = _settings.Worker.Latency - Stopwatch.GetElapsedTime(started);
            if (remaining > TimeSpan.Zero)
            {
                await Task.Delay(remaining, _stop.Token);
            }

            var results = rollouts.Select(r => new RolloutResult(r.Completion, r.PromptTokens, r.CompletionTokens, r.BehaviourLogProbs, r.PolicyVersion)).ToArray();
            dispatcher.Tell(new WorkDone(assignment.WorkId, assignment.Attempt, results), self);
            _counters.Add(results.Length);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            _log.WriteLine($"[worker] {_nodeId}: chunk {assignment.WorkId} (step {assignment.Step}) failed: {e.GetType().Name}: {e.Message}");
            dispatcher.Tell(new WorkFailed(assignment.WorkId, assignment.Attempt, $"{e.GetType().Name}: {e.Message}"), self);
        }

        self.Tell(Finished.Instance);
    }

    /// <summary>The learner is up: where its dispatcher and weight server live.</summary>
    public sealed record LearnerUp(ActorSelection Dispatcher, ActorSelection Weights);

    private sealed class AskAgain
    {
        public static readonly AskAgain Instance = new();
    }

    private sealed class Finished
    {
        public static readonly Finished Instance = new();
    }
}

/// <summary>Rollouts a node has generated and sent, over all its ActorSystem incarnations.</summary>
internal sealed class NodeCounters
{
    private long _rollouts;

    public long Rollouts => Interlocked.Read(ref _rollouts);

    public void Add(int count) => Interlocked.Add(ref _rollouts, count);
}
