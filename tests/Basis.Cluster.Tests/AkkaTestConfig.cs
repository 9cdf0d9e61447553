using System.Net;
using System.Net.Sockets;

namespace Basis.Cluster.Tests;

/// <summary>The akka section of an in-process test node: a cluster on 127.0.0.1 with TLS and short timings.</summary>
internal static class AkkaTestConfig
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string Node(int port, int learnerPort, string? certificate) => $$"""
        akka {
          loglevel = WARNING
          actor.provider = cluster
          remote.dot-netty.tcp {
            hostname = "127.0.0.1"
            port = {{port}}
            enable-ssl = {{(certificate is null ? "false" : "true")}}
            ssl.certificate { path = "{{certificate?.Replace("\\", "/", StringComparison.Ordinal)}}", password = "{{TestCertificates.Password}}" }
          }
          cluster {
            seed-nodes = ["akka{{(certificate is null ? string.Empty : ".ssl")}}.tcp://basis@127.0.0.1:{{learnerPort}}"]
            split-brain-resolver { active-strategy = keep-majority, stable-after = 2s, keep-majority.role = learner }
            failure-detector.acceptable-heartbeat-pause = 2s
            retry-unsuccessful-join-after = 1s
          }
          coordinated-shutdown.run-by-clr-shutdown-hook = off
        }
        """;
}
