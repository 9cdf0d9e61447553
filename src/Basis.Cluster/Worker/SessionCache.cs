using Akka.Actor;
using Basis.Cluster.Protocol;

namespace Basis.Cluster.Worker;

/// <summary>The node's runtime for the learner session its work comes from; a new session replaces the old one.</summary>
internal sealed class SessionCache(ClusterSettings settings, TextWriter log, string nodeId)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SessionRuntime? _current;

    public async Task<SessionRuntime> GetAsync(Guid sessionId, IActorRef dispatcher, ICanTell weightServer, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _current) is { } current && current.Session.SessionId == sessionId)
        {
            return current;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_current is { } loaded && loaded.Session.SessionId == sessionId)
            {
                return loaded;
            }

            object reply = await dispatcher.Ask<object>(new GetSession(sessionId), s_timeout, cancellationToken).ConfigureAwait(false);
            SessionInfo session = reply as SessionInfo ?? throw new ClusterWeightsException(reply is WeightsUnavailable u ? u.Reason : $"unexpected reply {reply.GetType().Name} to a session request");
            var runtime = new SessionRuntime(session, weightServer, settings);
            log.WriteLine($"[worker] {nodeId}: serving run {session.RunId} (session {session.SessionId:N})");
            Volatile.Write(ref _current, runtime);
            return runtime;
        }
        finally
        {
            _gate.Release();
        }
    }
}
