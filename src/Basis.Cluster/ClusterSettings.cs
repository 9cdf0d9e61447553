using System.ComponentModel.DataAnnotations;
using Basis.Hocon;

namespace Basis.Cluster;

// These classes mirror basis.cluster in hocon/reference.conf (kebab-case keys bind to PascalCase
// properties). Defaults here only matter when a key is missing from reference.conf. How nodes find
// and trust each other (address, seed nodes, TLS, failure detector, split brain resolver) is Akka's
// own configuration: the `akka` section of the same HOCON tree.

/// <summary><c>basis.cluster</c></summary>
public sealed class ClusterSettings
{
    public bool Enabled { get; set; }

    /// <summary>Names the node in logs and on the dashboard; null means rollout-&lt;host&gt;-&lt;pid&gt;.</summary>
    public string? NodeId { get; set; }

    /// <summary>How a node finds the cluster: seed-nodes (akka.cluster.seed-nodes) or bootstrap (Akka.Management Cluster Bootstrap and Akka.Discovery).</summary>
    [RegularExpression("seed-nodes|bootstrap", ErrorMessage = "must be seed-nodes or bootstrap")]
    public string Join { get; set; } = "seed-nodes";

    [Range(1, 1024)]
    public int Slots { get; set; } = 1;

    [Range(1, 1_000_000)]
    public int MaxOutstanding { get; set; } = 256;

    /// <summary>Generation errors a chunk may meet before it fails the run (a lost node does not count: the chunk was not at fault).</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 5;

    public WeightTransferSettings Weights { get; set; } = new();

    public RolloutWorkerSettings Worker { get; set; } = new();

    public override string ToString() => $"cluster(node-id={NodeId ?? "(generated)"}, slots={Slots}, max-outstanding={MaxOutstanding})";
}

/// <summary><c>basis.cluster.weights</c></summary>
public sealed class WeightTransferSettings
{
    /// <summary>Bytes per weights message; must stay below akka.remote.dot-netty.tcp.maximum-frame-size.</summary>
    public ByteSize ChunkSize { get; set; } = new(64 * 1024);

    /// <summary>Chunk requests a rollout node keeps in flight while it loads a version.</summary>
    [Range(1, 64)]
    public int Window { get; set; } = 4;
}

/// <summary><c>basis.cluster.worker</c>: how a rollout node generates.</summary>
public sealed class RolloutWorkerSettings
{
    /// <summary>transformer (the built-in policy) or fixed-latency (no model; for scaling benchmarks).</summary>
    [RegularExpression("transformer|fixed-latency", ErrorMessage = "must be transformer or fixed-latency")]
    public string Generator { get; set; } = "transformer";

    /// <summary>Every chunk takes at least this long (the fixed-latency generator's latency; a slowed GPU in tests).</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>GEMM threads per slot (0 = the machine's cores divided among the slots).</summary>
    [Range(0, 256)]
    public int Threads { get; set; }

    /// <summary>Akka.Remote port of a rollout node (0 = any free port); the learner listens on akka.remote.dot-netty.tcp.port.</summary>
    [Range(0, 65535)]
    public int Port { get; set; }
}
