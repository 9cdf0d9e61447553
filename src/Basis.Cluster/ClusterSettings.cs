using System.ComponentModel.DataAnnotations;
using Basis.Hocon;

namespace Basis.Cluster;

// These classes mirror basis.cluster in hocon/reference.conf (kebab-case keys bind to PascalCase
// properties). Defaults here only matter when a key is missing from reference.conf.

/// <summary><c>basis.cluster</c></summary>
public sealed class ClusterSettings : IValidatableObject
{
    public bool Enabled { get; set; }

    [RegularExpression("learner|rollout", ErrorMessage = "must be learner or rollout")]
    public string Role { get; set; } = "learner";

    /// <summary>Stable node id; null means a fresh one per start.</summary>
    public string? NodeId { get; set; }

    [Range(1, 1024)]
    public int Slots { get; set; } = 1;

    /// <summary>The join secret (from BASIS_CLUSTER_SECRET); never logged.</summary>
    public string? Secret { get; set; }

    public string? ConnectionString { get; set; }

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    public FailureDetectorSettings FailureDetector { get; set; } = new();

    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    [Range(1, 1_000_000)]
    public int MaxOutstanding { get; set; } = 256;

    [Range(1, 100_000)]
    public int ClaimBatch { get; set; } = 8;

    /// <summary>Attempts a work item gets (claims, whether released with an error or lost with a lease) before it fails the run.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 5;

    public WeightTransportSettings Weights { get; set; } = new();

    public RolloutWorkerSettings Worker { get; set; } = new();

    /// <summary>The secret stays out of every message: only its presence is shown.</summary>
    public override string ToString() => $"cluster(role={Role}, node-id={NodeId ?? "(generated)"}, slots={Slots}, secret={(string.IsNullOrEmpty(Secret) ? "unset" : "set")})";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (HeartbeatInterval <= TimeSpan.Zero)
        {
            yield return new ValidationResult("must be positive", [nameof(HeartbeatInterval)]);
        }

        if (LeaseDuration <= HeartbeatInterval)
        {
            yield return new ValidationResult("must be longer than heartbeat-interval (heartbeats renew leases)", [nameof(LeaseDuration)]);
        }

        if (FailureDetector.Timeout <= HeartbeatInterval)
        {
            yield return new ValidationResult("must be longer than basis.cluster.heartbeat-interval", [$"{nameof(FailureDetector)}.{nameof(FailureDetectorSettings.Timeout)}"]);
        }
    }
}

/// <summary><c>basis.cluster.failure-detector</c></summary>
public sealed class FailureDetectorSettings
{
    [RegularExpression("timeout|phi-accrual", ErrorMessage = "must be timeout or phi-accrual")]
    public string Kind { get; set; } = "timeout";

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    [Range(0.5, 1000.0)]
    public double PhiThreshold { get; set; } = 8.0;

    [Range(2, 10_000)]
    public int MinSamples { get; set; } = 10;
}

/// <summary><c>basis.cluster.weights</c></summary>
public sealed class WeightTransportSettings
{
    [RegularExpression("postgres|shared-path", ErrorMessage = "must be postgres or shared-path")]
    public string Transport { get; set; } = "postgres";

    public string? SharedPath { get; set; }

    public ByteSize ChunkSize { get; set; } = new(1 << 20);
}

/// <summary><c>basis.cluster.worker</c>: how a rollout node generates.</summary>
public sealed class RolloutWorkerSettings
{
    /// <summary>transformer (the built-in policy) or fixed-latency (no model; for scaling benchmarks).</summary>
    [RegularExpression("transformer|fixed-latency", ErrorMessage = "must be transformer or fixed-latency")]
    public string Generator { get; set; } = "transformer";

    /// <summary>Every claimed batch takes at least this long (the fixed-latency generator's latency; a slowed GPU in tests).</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>How often an idle slot looks for work when no notification arrives.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>GEMM threads per slot (0 = the machine's cores divided among the slots).</summary>
    [Range(0, 256)]
    public int Threads { get; set; }
}
