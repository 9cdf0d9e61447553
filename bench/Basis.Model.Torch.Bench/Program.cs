using System.Diagnostics;
using System.Globalization;
using Basis.Model;
using Basis.Model.Optim;
using Basis.Model.Sampling;
using Basis.Model.Tokenization;
using Basis.Model.Torch;

// Builtin vs TorchSharp (CPU) side by side in one process: one learner step (score, backward, clip, AdamW) on the
// default RL batch and KV-cached sampling throughput, at the default model size and at a 4x wider one. Repetitions
// alternate between the backends so both see the same machine load; medians are printed.
// Usage: dotnet run -c Release --project bench/Basis.Model.Torch.Bench -- [--threads 2] [--reps 7]
int threads = Environment.ProcessorCount, reps = 7;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    int value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--threads": threads = value; break;
        case "--reps": reps = value; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

int vocab = new CharTokenizer("0123456789+-*=").VocabSize;
(string Name, TransformerConfig Config)[] sizes =
[
    ("default (d 128, ff 344)", new TransformerConfig(vocab, 128, 4, 4, 344, 32)),
    ("4x wider (d 512, ff 1376)", new TransformerConfig(vocab, 512, 4, 4, 1376, 32)),
];
const int Batch = 256, Prompt = 12, Completion = 8;
var device = LibTorchProbe.Require("cpu");
Console.WriteLine($"threads {threads}, batch {Batch} sequences of {Prompt} prompt + {Completion} completion tokens, {reps} repetitions, medians");
Console.WriteLine("| model | backend | learner step (ms) | sampling (tokens/s) |");
Console.WriteLine("|---|---|---|---|");
foreach ((string name, TransformerConfig config) in sizes)
{
    TransformerModel builtin = TransformerModel.Create(config, seed: 1);
    using TorchPolicyModel torchModel = TorchPolicyModel.From(builtin, device);
    IPolicyModel[] models = [builtin, torchModel];
    foreach (IPolicyModel model in models)
    {
        model.Threads = threads;
    }

    var rng = new DeterministicRandom(2);
    var sequences = Enumerable.Range(0, Batch)
        .Select(_ => (IReadOnlyList<int>)[.. Enumerable.Range(0, Prompt + Completion).Select(_ => 3 + (int)(rng.NextUInt64() % (ulong)(vocab - 3)))])
        .ToArray();
    TokenBatch batch = TokenBatch.FromSequences(sequences, [.. Enumerable.Repeat(Prompt, Batch)], padId: 0);
    float[] dLogp = [.. batch.LossMask.Select(m => m ? -1f / (Batch * Completion) : 0f)];
    IReadOnlyList<int>[] prompts = [.. sequences.Select(s => (IReadOnlyList<int>)s.Take(Prompt).ToArray())];
    var sampling = new SamplingOptions(Temperature: 1f, MaxNewTokens: Completion);
    IPolicyOptimizer[] optimizers = [.. models.Select(m => m.CreateOptimizer(new AdamWOptions()))];
    var stepMs = models.Select(_ => new List<double>()).ToArray();
    var tokensPerSecond = models.Select(_ => new List<double>()).ToArray();
    for (int rep = -1; rep < reps; rep++)
    {
        for (int k = 0; k < models.Length; k++)
        {
            IPolicyModel model = models[k];
            var clock = Stopwatch.StartNew();
            model.ZeroGradients();
            model.Backward(model.Score(batch), dLogp);
            model.ClipGradients(1f);
            optimizers[k].Step(1e-5f);
            double step = clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            int tokens = Sampler.Generate(model, prompts, sampling, seed: (ulong)rep + 10).Sum(s => s.Tokens.Length);
            double rate = tokens / clock.Elapsed.TotalSeconds;

            // The first round warms up both (JIT, libtorch's allocator) and is not counted.
            if (rep >= 0)
            {
                stepMs[k].Add(step);
                tokensPerSecond[k].Add(rate);
            }
        }
    }

    string[] names = ["builtin", "torchsharp (cpu)"];
    for (int k = 0; k < models.Length; k++)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {names[k]} | {Median(stepMs[k]):F1} | {Median(tokensPerSecond[k]):F0} |"));
    }
}

return 0;

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}
