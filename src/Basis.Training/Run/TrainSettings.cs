using System.ComponentModel.DataAnnotations;

namespace Basis.Training.Run;

// These classes mirror sections of hocon/reference.conf (kebab-case keys bind to PascalCase
// properties). Defaults here only matter when a key is missing from reference.conf.

/// <summary><c>basis.run</c></summary>
public sealed class RunSettings
{
    [Required]
    public string RunDir { get; set; } = "runs/default";

    public ulong Seed { get; set; } = 42;

    [Required]
    public string Name { get; set; } = "basis";

    [Range(0, int.MaxValue)]
    public int CheckpointEvery { get; set; } = 50;

    public bool Progress { get; set; } = true;
}

/// <summary><c>basis.model</c></summary>
public sealed class ModelSettings
{
    [Range(8, 4096)]
    public int DModel { get; set; } = 128;

    [Range(1, 64)]
    public int Layers { get; set; } = 4;

    [Range(1, 64)]
    public int Heads { get; set; } = 4;

    [Range(8, 16384)]
    public int FfDim { get; set; } = 344;

    [Range(8, 8192)]
    public int Context { get; set; } = 32;

    public bool TiedHead { get; set; } = true;

    [Range(0, 256)]
    public int Threads { get; set; }

    [Range(1e-6, 1.0)]
    public double InitStd { get; set; } = 0.02;

    /// <summary>What computes the policy: the managed C# transformer or libtorch through TorchSharp (docs/model-backends.md).</summary>
    [RegularExpression("builtin|torchsharp", ErrorMessage = "must be builtin or torchsharp")]
    public string Backend { get; set; } = "builtin";

    /// <summary>Where the torchsharp backend computes (the built-in backend is always on the CPU).</summary>
    [RegularExpression("cpu|cuda", ErrorMessage = "must be cpu or cuda")]
    public string Device { get; set; } = "cpu";
}

/// <summary><c>basis.sft</c></summary>
public sealed class SftSettings
{
    public bool Enabled { get; set; } = true;

    [Range(1, 1_000_000)]
    public int Steps { get; set; } = 1500;

    [Range(1e-7, 1.0)]
    public double LearningRate { get; set; } = 3e-3;

    [Range(1, 65536)]
    public int BatchSize { get; set; } = 64;

    [Range(0, 1_000_000)]
    public int WarmupSteps { get; set; } = 50;

    [Range(0.0, 1.0)]
    public double WeightDecay { get; set; } = 0.01;

    [Range(1e-6, 1e6)]
    public double GradClip { get; set; } = 1.0;

    /// <summary>Stop as soon as sampled pass@1 on the probe of training prompts reaches this (0 = run all the steps;
    /// reference.conf sets 0.2).</summary>
    [Range(0.0, 1.0)]
    public double TargetAccuracy { get; set; }

    /// <summary>SFT steps between probes.</summary>
    [Range(1, 1_000_000)]
    public int CheckEvery { get; set; } = 100;

    /// <summary>Training prompts in the probe (never held-out ones).</summary>
    [Range(1, 1_000_000)]
    public int ProbeSize { get; set; } = 512;
}

/// <summary><c>basis.task</c></summary>
public sealed class TaskSettings
{
    [Range(1, 10_000_000)]
    public int TrainSize { get; set; } = 4000;

    [Range(1, 1_000_000)]
    public int EvalSize { get; set; } = 400;

    public ulong Seed { get; set; } = 1;

    /// <summary>Names of the generator's difficulty tiers to draw from, with their default weights; empty means all.</summary>
    public List<string> Tiers { get; set; } = new();
}

/// <summary><c>basis.offline-table</c></summary>
public sealed class OfflineTableSettings
{
    [Range(1, 4096)]
    public int Samples { get; set; } = 16;

    [Range(0.0, 10.0)]
    public double Temperature { get; set; } = 1.0;

    public bool AllowPolicyMismatch { get; set; }
}

/// <summary><c>basis.estimator</c></summary>
public sealed class EstimatorSettings
{
    /// <summary>A catalog spec: basis, basis-initial, reinforce, reinforce++, grpo:8, rloo:4, ...</summary>
    [Required]
    public string Name { get; set; } = "basis";

    public bool FilterZeroVarianceGroups { get; set; }
}

/// <summary><c>basis.train</c></summary>
public sealed class TrainLoopSettings
{
    [Range(1, 10_000_000)]
    public int Steps { get; set; } = 200;

    /// <summary>Rollouts per learner step; group estimators see batch-size / G prompts.</summary>
    [Range(1, 1_000_000)]
    public int BatchSize { get; set; } = 256;

    [Range(1e-8, 1.0)]
    public double LearningRate { get; set; } = 1e-3;

    [Range(0.0, 1.0)]
    public double MinLearningRate { get; set; } = 1e-4;

    [Range(0, 1_000_000)]
    public int WarmupSteps { get; set; } = 5;

    [Range(0.0, 1.0)]
    public double WeightDecay { get; set; }

    [Range(1e-6, 1e6)]
    public double GradClip { get; set; } = 1.0;

    [RegularExpression("ppo|gspo|gpg", ErrorMessage = "must be ppo, gspo or gpg")]
    public string Loss { get; set; } = "ppo";

    [Range(0.0, 1.0)]
    public double ClipEpsLow { get; set; } = 0.2;

    [Range(0.0, 10.0)]
    public double ClipEpsHigh { get; set; } = 0.28;

    [Range(0.0, 100.0)]
    public double DualClip { get; set; } = 3.0;

    [RegularExpression("token-mean|seq-mean-token-mean|seq-mean-token-sum", ErrorMessage = "must be token-mean, seq-mean-token-mean or seq-mean-token-sum")]
    public string Aggregation { get; set; } = "token-mean";

    [Range(1, 4096)]
    public int MaxNewTokens { get; set; } = 8;

    [Range(0.0, 10.0)]
    public double Temperature { get; set; } = 1.0;

    [Range(0, 100_000)]
    public int TopK { get; set; }

    [Range(1e-6, 1.0)]
    public double TopP { get; set; } = 1.0;

    [Range(0, 1_000_000)]
    public int EvalEvery { get; set; } = 20;

    [Range(0.0, 10.0)]
    public double EvalTemperature { get; set; } = 1.0;

    [Range(0.0, 1e6)]
    public double MaxImportanceWeight { get; set; } = 2.0;

    /// <summary>AdamW updates per batch (slot-ordered minibatches); above 1 the behaviour policy is PPO's old policy.</summary>
    [Range(1, 1024)]
    public int Minibatches { get; set; } = 1;

    /// <summary>Weight of the k3 KL penalty towards the warm-start policy (0 = off; on costs one more forward pass per update).</summary>
    [Range(0.0, 100.0)]
    public double KlCoefficient { get; set; }
}

/// <summary><c>basis.graph</c></summary>
public sealed class GraphSettings
{
    [Range(1, 1024)]
    public int Generators { get; set; } = 1;

    [Range(1, 1024)]
    public int Verifiers { get; set; } = 1;

    [Range(1, 1_000_000)]
    public int QueueBound { get; set; } = 4;

    [Range(1, 1_000_000)]
    public int ChunkSize { get; set; } = 128;

    [Range(0, 1000)]
    public int Staleness { get; set; }

    /// <summary>GEMM threads of each generator's replica during RL; 0 = <c>basis.model.threads</c>.</summary>
    [Range(0, 256)]
    public int GeneratorThreads { get; set; }

    /// <summary>GEMM threads of the learner (and the held-out evaluation) during RL; 0 = <c>basis.model.threads</c>.</summary>
    [Range(0, 256)]
    public int LearnerThreads { get; set; }

    /// <summary>normal, or low: each generator samples on a thread of its own at the lowest OS priority (akka.actor.basis-generator-dispatcher, a PinnedDispatcher).</summary>
    [RegularExpression("normal|low", ErrorMessage = "must be normal or low")]
    public string GeneratorPriority { get; set; } = "normal";

    /// <summary>0 = the learner's matrix products split across its threads; N = each batch cut into N shards of whole sequences, one thread each.</summary>
    [Range(0, 256)]
    public int LearnerShards { get; set; }

    public SupervisionSettings Supervision { get; set; } = new();
}

/// <summary><c>basis.graph.supervision</c></summary>
public sealed class SupervisionSettings
{
    [Range(0, 1000)]
    public int MaxRestarts { get; set; } = 3;

    public TimeSpan RestartWindow { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan BackoffMin { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromSeconds(10);

    [Range(0.0, 10.0)]
    public double BackoffJitter { get; set; } = 0.2;
}

/// <summary><c>basis.journal</c></summary>
public sealed class JournalSettings
{
    /// <summary>sqlite (journal.db in the run folder; the connection string is ignored) or postgres.</summary>
    [RegularExpression("sqlite|postgres|postgresql", ErrorMessage = "must be sqlite or postgres")]
    public string Provider { get; set; } = "sqlite";

    public string? ConnectionString { get; set; }

    /// <summary>Learner steps between run snapshots (0 = none: a resume re-applies every step from the journal).</summary>
    [Range(0, int.MaxValue)]
    public int SnapshotEvery { get; set; } = 50;

    /// <summary>Rows per database batch of Akka.Persistence.Sql's writer.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>Concurrent database writers on PostgreSQL (SQLite has one).</summary>
    [Range(1, 64)]
    public int MaxInFlight { get; set; } = 4;

    /// <summary>Rows waiting to be written before writes are rejected.</summary>
    [Range(1, int.MaxValue)]
    public int QueueCapacity { get; set; } = 10_000;

    public TimeSpan GapTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>These settings as Akka.Persistence.Sql's.</summary>
    public Journal.JournalTuning Tuning => new()
    {
        BatchSize = BatchSize,
        Parallelism = MaxInFlight,
        BufferSize = QueueCapacity,
        GapTimeout = GapTimeout,
        PollInterval = PollInterval,
    };
}

/// <summary>Every section <c>basis train</c> reads.</summary>
public sealed record TrainSettings(
    RunSettings Run,
    ModelSettings Model,
    SftSettings Sft,
    TaskSettings Task,
    OfflineTableSettings OfflineTable,
    EstimatorSettings Estimator,
    TrainLoopSettings Train,
    GraphSettings Graph,
    JournalSettings Journal)
{
    /// <summary><c>basis.chaos</c>: fault injection, off by default.</summary>
    public Chaos.ChaosSettings Chaos { get; init; } = new();

    /// <summary>The configuration's <c>akka</c> section rendered as JSON (<c>{"akka": {...}}</c>) for the run's ActorSystem; null = Akka's defaults plus the project's.</summary>
    public string? Akka { get; init; }
}
