using Akka.Actor;
using Basis.Training.Graph.Monitoring;

namespace Basis.Training.Graph;

/// <summary>
/// The learner: an actor behind <c>Sink.ActorRefWithAck</c>, so the graph hands it one training batch at a time and
/// the ack is the only demand the aggregator sees (a slow learner backpressures all the way to the prompt source).
/// It owns the end of the run: stream completion, stream failure and its own failure all settle <c>done</c>; a step
/// that throws stops the actor, which cancels the stream.
/// </summary>
internal sealed class LearnerActor : ReceiveActor
{
    public static Props Props(Func<TrainingBatch, Task> step, TaskCompletionSource done, StageMeter meter, string dispatcher) =>
        Akka.Actor.Props.Create(() => new LearnerActor(step, done, meter)).WithDispatcher(dispatcher);

    public LearnerActor(Func<TrainingBatch, Task> step, TaskCompletionSource done, StageMeter meter)
    {
        Receive<StreamInit>(_ => Sender.Tell(StepDone.Instance));
        ReceiveAsync<TrainingBatch>(async batch =>
        {
            IActorRef stream = Sender;
            meter.Begin();
            try
            {
                // The step's matrix products fan out with Parallel.For; from a thread-pool thread its helpers start
                // at once, from the actor's own thread each one waits for a pool thread to wake (measured: the
                // default run's RL took twice as long). The actor still owns the step: it takes no other message until done.
                await Task.Run(() => step(batch)).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                meter.Stopped(error is OperationCanceledException ? StageStatus.Cancelled : StageStatus.Failed);
                Fail(done, error);
                Context.Stop(Self);
                return;
            }

            meter.End();
            stream.Tell(StepDone.Instance);
        });
        Receive<StreamCompleted>(_ =>
        {
            meter.Stopped(StageStatus.Completed);
            done.TrySetResult();
            Context.Stop(Self);
        });
        Receive<StreamFailed>(failed =>
        {
            meter.Stopped(failed.Cause is OperationCanceledException ? StageStatus.Cancelled : StageStatus.Failed);
            Fail(done, failed.Cause);
            Context.Stop(Self);
        });
    }

    private static void Fail(TaskCompletionSource done, Exception error)
    {
        if (error is OperationCanceledException cancelled)
        {
            done.TrySetCanceled(cancelled.CancellationToken);
        }
        else
        {
            done.TrySetException(error);
        }
    }

    /// <summary>The stream's first message; the learner acks it to open demand.</summary>
    public sealed class StreamInit
    {
        public static readonly StreamInit Instance = new();
    }

    /// <summary>The ack: the learner finished its step and takes the next batch.</summary>
    public sealed class StepDone
    {
        public static readonly StepDone Instance = new();
    }

    public sealed class StreamCompleted
    {
        public static readonly StreamCompleted Instance = new();
    }

    public sealed record StreamFailed(Exception Cause);
}
