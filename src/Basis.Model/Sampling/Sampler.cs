using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Basis.Model.Compute;

namespace Basis.Model.Sampling;

/// <summary>
/// How to sample. <see cref="Temperature"/> 0 is greedy. <see cref="TopK"/> 0 and <see cref="TopP"/> 1 disable those
/// filters; top-k is applied before top-p, both to the tempered distribution.
/// </summary>
public sealed record SamplingOptions(float Temperature = 1f, int TopK = 0, float TopP = 1f, int MaxNewTokens = 64, IReadOnlyList<int>? StopTokens = null)
{
    public void Validate()
    {
        if (!(Temperature >= 0f) || !float.IsFinite(Temperature))
        {
            throw new ArgumentException($"SamplingOptions.Temperature must be a finite number ≥ 0, not {Temperature}.", nameof(Temperature));
        }

        if (TopK < 0)
        {
            throw new ArgumentException($"SamplingOptions.TopK must be ≥ 0, not {TopK}.", nameof(TopK));
        }

        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new ArgumentException($"SamplingOptions.TopP must be in (0, 1], not {TopP}.", nameof(TopP));
        }

        if (MaxNewTokens <= 0)
        {
            throw new ArgumentException($"SamplingOptions.MaxNewTokens must be positive, not {MaxNewTokens}.", nameof(MaxNewTokens));
        }
    }
}

public enum FinishReason
{
    /// <summary>A stop token was sampled (it is the last token).</summary>
    Stop,

    /// <summary>MaxNewTokens or the model's MaxSeqLen was reached.</summary>
    Length,
}

/// <summary>
/// One generated completion. <see cref="SamplingLogp"/>[i] is log q(token i) under the distribution actually sampled
/// from (tempered, top-k/top-p truncated; 0 for greedy). <see cref="PolicyLogp"/>[i] is log π(token i), the untempered
/// full softmax of the policy: the quantity <see cref="TransformerModel.Forward"/> recomputes.
/// </summary>
public sealed record SampledSequence(int[] Tokens, float[] SamplingLogp, float[] PolicyLogp, FinishReason Finish);

/// <summary>Batched incremental decoding with a per-row KV cache.</summary>
/// <remarks>
/// Each row draws from its own generator seeded by its row seed, and every row's arithmetic is independent of the
/// other rows (see <see cref="Gemm"/>), so a prompt with a given row seed yields the same completion in any batch.
/// </remarks>
public static class Sampler
{

    /// <summary>Samples one completion per prompt; row i uses seed <see cref="DeterministicRandom.DeriveSeed"/>(seed, i).</summary>
    public static IReadOnlyList<SampledSequence> Generate(IPolicyModel model, IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var seeds = new ulong[prompts.Count];
        for (var i = 0; i < seeds.Length; i++)
        {
            seeds[i] = DeterministicRandom.DeriveSeed(seed, (ulong)i);
        }

        return Generate(model, prompts, options, seeds);
    }

    public static IReadOnlyList<SampledSequence> Generate(IPolicyModel model, IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions options, IReadOnlyList<ulong> rowSeeds) =>
        Generate(model, prompts, options, rowSeeds, profile: null);

    /// <summary>As the public overload; when <paramref name="profile"/> is given, adds where the time went to it.</summary>
    internal static IReadOnlyList<SampledSequence> Generate(IPolicyModel model, IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions options, IReadOnlyList<ulong> rowSeeds, DecodeProfile? profile)
    {
        var started = DecodeProfile.Mark();
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rowSeeds);
        options.Validate();
        if (rowSeeds.Count != prompts.Count)
        {
            throw new ArgumentException($"{rowSeeds.Count} row seeds for {prompts.Count} prompts.", nameof(rowSeeds));
        }

        var cfg = model.Config;
        var rows = prompts.Count;
        if (rows == 0)
        {
            return [];
        }

        for (var r = 0; r < rows; r++)
        {
            if (prompts[r].Count == 0 || prompts[r].Count >= cfg.MaxSeqLen)
            {
                throw new ArgumentException($"Prompt {r} has {prompts[r].Count} tokens; it needs at least 1 and fewer than MaxSeqLen ({cfg.MaxSeqLen}).", nameof(prompts));
            }

            foreach (var id in prompts[r])
            {
                if ((uint)id >= (uint)cfg.VocabSize)
                {
                    throw new ArgumentException($"Prompt {r} holds token id {id}, outside the vocabulary of {cfg.VocabSize}.", nameof(prompts));
                }
            }
        }

        var capacity = prompts.Max(p => Math.Min(cfg.MaxSeqLen, p.Count + options.MaxNewTokens));
        // The profile splits the built-in decoder's time; any other backend decodes through its own decoder.
        IIncrementalDecoder decoder = profile is not null && model is TransformerModel builtin
            ? new KvCacheDecoder(builtin, rows, capacity, profile)
            : model.CreateDecoder(rows, capacity);
        var stop = new HashSet<int>(options.StopTokens ?? []);
        var rngs = rowSeeds.Select(s => new DeterministicRandom(s)).ToArray();

        // Everything a step needs is allocated here, once: the loop below allocates nothing per token.
        var most = Math.Min(options.MaxNewTokens, capacity);
        var tokens = new int[rows][];
        var samplingLogp = new float[rows][];
        var policyLogp = new float[rows][];
        for (var r = 0; r < rows; r++)
        {
            (tokens[r], samplingLogp[r], policyLogp[r]) = (new int[most], new float[most], new float[most]);
        }

        var produced = new int[rows];
        var finish = new FinishReason[rows];
        var active = Enumerable.Range(0, rows).ToArray();
        var fed = new int[rows];
        var activeCount = rows;
        var logits = decoder.Prefill(prompts);
        var v = cfg.VocabSize;
        var selection = new RowSelection(options, rngs, v, model.Threads);
        while (activeCount > 0)
        {
            var mark = profile is null ? 0 : DecodeProfile.Mark();
            selection.Run(logits, active, activeCount);
            var kept = 0;
            for (var a = 0; a < activeCount; a++)
            {
                var r = active[a];
                var token = selection.Tokens[a];
                var n = produced[r]++;
                (tokens[r][n], samplingLogp[r][n], policyLogp[r][n]) = (token, selection.SamplingLogp[a], selection.PolicyLogp[a]);
                if (stop.Contains(token))
                {
                    finish[r] = FinishReason.Stop;
                }
                else if (n + 1 >= options.MaxNewTokens || decoder.Length(r) + 1 >= cfg.MaxSeqLen)
                {
                    finish[r] = FinishReason.Length;
                }
                else
                {
                    // Compacting in place: kept ≤ a, so no row still to be read is overwritten.
                    (active[kept], fed[kept]) = (r, token);
                    kept++;
                }
            }

            profile?.Charge(DecodeSection.Selection, mark);
            activeCount = kept;
            if (activeCount > 0)
            {
                logits = decoder.Step(active.AsSpan(0, activeCount), fed.AsSpan(0, activeCount));
            }
        }

        IReadOnlyList<SampledSequence> result = [.. Enumerable.Range(0, rows).Select(r => new SampledSequence(
            tokens[r][..produced[r]], samplingLogp[r][..produced[r]], policyLogp[r][..produced[r]], finish[r]))];
        if (profile is not null)
        {
            profile.TotalTicks += DecodeProfile.Mark() - started;
        }

        return result;
    }

    /// <summary>
    /// Draws the next token of every active row. Rows are independent (each has its own generator), so with more than
    /// one thread they are split into contiguous chunks, one scratch per chunk; the draws are the same either way.
    /// </summary>
    private sealed class RowSelection
    {
        private readonly SamplingOptions _options;
        private readonly DeterministicRandom[] _rngs;
        private readonly SamplingScratch[] _scratch;
        private readonly int _threads;
        private readonly Action<int> _chunk;
        private float[] _logits = [];
        private int[] _active = [];
        private int _count;

        public RowSelection(SamplingOptions options, DeterministicRandom[] rngs, int vocab, int threads)
        {
            _options = options;
            _rngs = rngs;
            _threads = threads;
            _scratch = [.. Enumerable.Range(0, threads).Select(_ => new SamplingScratch(vocab))];
            (Tokens, SamplingLogp, PolicyLogp) = (new int[rngs.Length], new float[rngs.Length], new float[rngs.Length]);
            _chunk = Chunk;
        }

        public int[] Tokens { get; }

        public float[] SamplingLogp { get; }

        public float[] PolicyLogp { get; }

        /// <summary>Fills slot a of the outputs for row active[a], from logits row a, for a &lt; count.</summary>
        public void Run(float[] logits, int[] active, int count)
        {
            (_logits, _active, _count) = (logits, active, count);

            // A row's draw costs a few microseconds: below a few rows per thread the handoff costs more than it saves.
            if (_threads <= 1 || count < 8 * _threads)
            {
                Select(0, count, _scratch[0]);
                return;
            }

            ParallelRunner.For(_threads, _threads, _chunk);
        }

        private void Chunk(int chunk) =>
            Select((int)((long)_count * chunk / _threads), (int)((long)_count * (chunk + 1) / _threads), _scratch[chunk]);

        private void Select(int start, int end, SamplingScratch scratch)
        {
            var v = scratch.Scaled.Length;
            for (var a = start; a < end; a++)
            {
                (Tokens[a], SamplingLogp[a], PolicyLogp[a]) = SampleToken(_logits.AsSpan(a * v, v), _options, _rngs[_active[a]], scratch);
            }
        }
    }

    private sealed class SamplingScratch(int v)
    {
        public float[] Scaled { get; } = new float[v];

        public ulong[] Order { get; } = new ulong[v];

        public double[] Weights { get; } = new double[v];

        public double[] Exps { get; } = new double[v];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int Token, float SamplingLogp, float PolicyLogp) SampleToken(ReadOnlySpan<float> logits, SamplingOptions options, DeterministicRandom rng, SamplingScratch s)
    {
        var v = logits.Length;

        // log π(token) = z − logsumexp(z), computed exactly as Ops.LogSoftmaxInPlace does so it matches the training forward.
        var zMax = TensorPrimitives.Max(logits);
        var exps = s.Exps;
        double zSum = 0;
        for (var i = 0; i < v; i++)
        {
            exps[i] = Math.Exp(logits[i] - zMax);
            zSum += exps[i];
        }

        var lse = zMax + (float)Math.Log(zSum);
        if (options.Temperature == 0f)
        {
            var best = TensorPrimitives.IndexOfMax(logits);
            return (best, 0f, logits[best] - lse);
        }

        TensorPrimitives.Divide(logits, options.Temperature, s.Scaled);
        var scaled = s.Scaled;

        // Descending by value, ascending by index on ties, as one primitive sort: the order-preserving bit pattern of
        // −value in the high half, the index in the low half.
        var order = s.Order;
        for (var i = 0; i < v; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(scaled[i] + 0f);
            var ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
            order[i] = ((ulong)~ascending << 32) | (uint)i;
        }

        Array.Sort(order);
        var keep = options.TopK > 0 ? Math.Min(options.TopK, v) : v;
        var max = scaled[(int)(uint)order[0]];
        var weights = s.Weights;
        double total = 0;
        for (var i = 0; i < keep; i++)
        {
            // At temperature 1 the scaled logits are the logits and max is their maximum: these are the exponentials above.
            var index = (int)(uint)order[i];
            weights[i] = options.Temperature == 1f ? exps[index] : Math.Exp(scaled[index] - max);
            total += weights[i];
        }

        if (options.TopP < 1f)
        {
            double cumulative = 0;
            for (var i = 0; i < keep; i++)
            {
                cumulative += weights[i] / total;
                if (cumulative >= options.TopP)
                {
                    keep = i + 1;
                    break;
                }
            }

            total = 0;
            for (var i = 0; i < keep; i++)
            {
                total += weights[i];
            }
        }

        var u = rng.NextDouble() * total;
        var chosen = (int)(uint)order[keep - 1];
        double acc = 0;
        for (var i = 0; i < keep; i++)
        {
            acc += weights[i];
            if (u < acc)
            {
                chosen = (int)(uint)order[i];
                break;
            }
        }

        var qLogp = (float)(scaled[chosen] - max - Math.Log(total));
        return (chosen, qLogp, logits[chosen] - lse);
    }
}
