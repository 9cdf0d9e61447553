using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Basis.Model.Optim;
using Basis.Model.Sampling;

namespace Basis.Model.Bench;

/// <summary>Training-step and KV-cache sampling throughput for the sizes bench/compare-torch compares with PyTorch.</summary>
internal static class Throughput
{
    public static TransformerConfig Config(string size, int vocab, int context) => size switch
    {
        "small" => new TransformerConfig(vocab, 128, 4, 4, 352, context),
        "medium" => new TransformerConfig(vocab, 256, 6, 4, 704, context),
        _ => throw new ArgumentException($"Unknown size '{size}' (small, medium)."),
    };

    public static int Run(string[] args)
    {
        string size = "small";
        int threads = 1, steps = 3, batchSize = 64, context = 128, prompt = 16, vocab = 100, sampleRuns = 1;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--size": size = value; break;
                case "--threads": threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--batch": batchSize = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--context": context = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--sample-runs": sampleRuns = int.Parse(value, CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        var model = TransformerModel.Create(Config(size, vocab, context), seed: 0);
        model.Threads = threads;
        var rng = new DeterministicRandom(1);
        var sequences = Enumerable.Range(0, batchSize)
            .Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, context + 1).Select(_ => 4 + (int)(rng.NextUInt64() % (ulong)(vocab - 4))).ToArray())
            .ToList();
        var batch = TokenBatch.FromSequences(sequences, [.. Enumerable.Repeat(0, batchSize)], padId: 0);
        var optimizer = new AdamW(model.Layout);
        var dLogp = new float[batch.TokenCount];
        Array.Fill(dLogp, -1f / batch.TokenCount);
        ForwardPass? pass = null;
        void TrainStep()
        {
            pass = model.Forward(batch, pass);
            model.ZeroGradients();
            model.Backward(pass, dLogp);
            GradientClipping.ClipGlobalNorm(model.Gradients, 1f);
            optimizer.Step(model, 1e-4f);
        }

        TrainStep();
        var sw = Stopwatch.StartNew();
        for (var s = 0; s < steps; s++)
        {
            TrainStep();
        }

        var trainTps = steps * batch.TokenCount / sw.Elapsed.TotalSeconds;
        var peakTrainBytes = Process.GetCurrentProcess().PeakWorkingSet64;

        var prompts = sequences.Select(s => (IReadOnlyList<int>)s.Take(prompt).ToArray()).ToList();
        var options = new SamplingOptions(Temperature: 1f, MaxNewTokens: context - prompt);
        Sampler.Generate(model, prompts, options with { MaxNewTokens = 4 }, seed: 1);
        var seeds = Enumerable.Range(0, batchSize).Select(i => DeterministicRandom.DeriveSeed(2, (ulong)i)).ToArray();

        // With --sample-runs N the fastest of N runs is reported, with the process CPU time it took (A/B comparisons on a
        // shared machine); compare-torch uses one run and repeats whole invocations instead.
        DecodeProfile profile = null!;
        IReadOnlyList<SampledSequence> sampled = [];
        var elapsed = double.MaxValue;
        var cpuSeconds = 0.0;
        var process = Process.GetCurrentProcess();
        for (var run = 0; run < sampleRuns; run++)
        {
            var runProfile = new DecodeProfile();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            sw.Restart();
            var runSampled = Sampler.Generate(model, prompts, options, seeds, runProfile);
            var runElapsed = sw.Elapsed.TotalSeconds;
            process.Refresh();
            if (runElapsed < elapsed)
            {
                (elapsed, profile, sampled) = (runElapsed, runProfile, runSampled);
                cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
            }
        }

        var generated = sampled.Sum(r => r.Tokens.Length);
        var sampleTps = generated / elapsed;
        double MicrosPerToken(long ticks) => Math.Round(DecodeProfile.Seconds(ticks) * 1e6 / generated, 3);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            size,
            threads,
            train_tokens_per_s = trainTps,
            sample_tokens_per_s = sampleTps,
            peak_working_set_mb = peakTrainBytes / (1024.0 * 1024.0),
            train_gflops = trainTps * TrainFlopsPerToken(model.Config, context) / 1e9,
            sample_us_per_token = new
            {
                total = MicrosPerToken(profile.TotalTicks),
                matrix = MicrosPerToken(profile[DecodeSection.Matrix]),
                attention = MicrosPerToken(profile[DecodeSection.Attention]),
                row_ops = MicrosPerToken(profile[DecodeSection.RowOps]),
                selection = MicrosPerToken(profile[DecodeSection.Selection]),
                other = MicrosPerToken(profile.OtherTicks),
            },
            sample_cpu_seconds = cpuSeconds,
            sample_hash = SampleHash(sampled),
            avx2_fma = Compute.Gemm.IsAccelerated,
        }));
        return 0;
    }

    /// <summary>
    /// The first 16 hex digits of SHA-256 over every sampled token and the bits of both its log-probabilities: equal
    /// hashes for the same size and thread count show a change left the sampled numbers bit-identical.
    /// </summary>
    private static string SampleHash(IReadOnlyList<SampledSequence> sampled)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var s in sampled)
        {
            sha.AppendData(MemoryMarshal.AsBytes(s.Tokens.AsSpan()));
            sha.AppendData(MemoryMarshal.AsBytes(s.SamplingLogp.AsSpan()));
            sha.AppendData(MemoryMarshal.AsBytes(s.PolicyLogp.AsSpan()));
        }

        return Convert.ToHexString(sha.GetHashAndReset())[..16];
    }

    /// <summary>Matrix-multiply FLOPs of forward + backward per token: 6·(weights used per token) + 12·T·d for attention (full square scores).</summary>
    public static double TrainFlopsPerToken(TransformerConfig c, int context)
    {
        double d = c.ModelDim, f = c.FfnDim;
        var perLayer = 4 * d * d + 3 * d * f;
        return 6 * (c.Layers * perLayer + d * c.VocabSize) + 12.0 * c.Layers * context * d;
    }
}
