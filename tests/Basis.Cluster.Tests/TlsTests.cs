using Akka.Actor;
using Basis.Cluster.Hosting;
using Basis.Cluster.Worker;

namespace Basis.Cluster.Tests;

public sealed class TlsTests
{
    [Fact]
    public async Task A_node_that_presents_another_certificate_is_refused_and_says_so()
    {
        using var certificates = new TestCertificates();
        int learnerPort = AkkaTestConfig.FreePort();
        ActorSystem learner = ClusterActorSystem.Create(AkkaTestConfig.Node(learnerPort, learnerPort, certificates.Cluster), ClusterActorSystem.Roles("learner", "learner"));
        try
        {
            var log = new StringWriter();
            var node = new RolloutNode(new ClusterConfiguration(new ClusterSettings { NodeId = "intruder" }, AkkaTestConfig.Node(0, learnerPort, certificates.Intruder)), TextWriter.Synchronized(log));

            var refused = await Assert.ThrowsAsync<ClusterJoinRefusedException>(() => node.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

            Assert.Contains("the cluster refused node 'intruder': the TLS handshake with", refused.Message, StringComparison.Ordinal);
            Assert.Single(Akka.Cluster.Cluster.Get(learner).State.Members);
        }
        finally
        {
            await learner.Terminate();
        }
    }
}
