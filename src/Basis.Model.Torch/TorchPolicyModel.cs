using Basis.Model.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Basis.Model.Torch;

using Tensor = TorchSharp.torch.Tensor;

/// <summary>
/// The policy on libtorch (<see cref="TorchTransformer"/>): scoring and back-propagation by autograd, AdamW and
/// KV-cached decoding as tensor operations on <see cref="Device"/>. Weights, gradients and optimizer moments cross
/// <see cref="IPolicyModel"/> flat in <see cref="ParameterLayout"/> order, so checkpoints, snapshots and published
/// weights are the built-in model's.
/// </summary>
public sealed class TorchPolicyModel : IPolicyModel, IDisposable
{
    private readonly TorchTransformer _module;
    private readonly IReadOnlyList<Parameter> _parameters;
    private int _threads = 1;
    private TorchScoredBatch? _last;

    public TorchPolicyModel(TransformerConfig config, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(device);
        Layout = ParameterLayout.Create(config);
        Config = config;
        Device = device;
        _module = new TorchTransformer(config, device);
        _parameters = _module.InLayoutOrder(Layout);
    }

    public TransformerConfig Config { get; }

    public ParameterLayout Layout { get; }

    public Device Device { get; }

    /// <summary>libtorch's intra-op threads; process-wide, like libtorch's own setting.</summary>
    public int Threads
    {
        get => _threads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _threads = value;
            torch.set_num_threads(value);
        }
    }

    internal IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>A model holding <paramref name="source"/>'s config and weights.</summary>
    public static TorchPolicyModel From(IPolicyModel source, Device device)
    {
        ArgumentNullException.ThrowIfNull(source);
        var model = new TorchPolicyModel(source.Config, device) { Threads = source.Threads };
        model.WriteWeights(source.ExportWeights());
        return model;
    }

    public void ReadWeights(Span<float> destination)
    {
        RequireLength(destination.Length, nameof(destination));
        for (int i = 0; i < _parameters.Count; i++)
        {
            ParameterInfo info = Layout.Entries[i];
            using Tensor host = _parameters[i].detach().cpu();
            host.data<float>().ToArray().CopyTo(destination.Slice(info.Offset, info.Length));
        }
    }

    public void WriteWeights(ReadOnlySpan<float> source)
    {
        RequireLength(source.Length, nameof(source));
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _parameters.Count; i++)
        {
            ParameterInfo info = Layout.Entries[i];
            using Tensor values = torch.tensor(source.Slice(info.Offset, info.Length).ToArray(), [.. info.Shape.Select(s => (long)s)]);
            _parameters[i].copy_(values);
        }
    }

    public void ReadGradients(Span<float> destination)
    {
        RequireLength(destination.Length, nameof(destination));
        for (int i = 0; i < _parameters.Count; i++)
        {
            ParameterInfo info = Layout.Entries[i];
            Span<float> slice = destination.Slice(info.Offset, info.Length);
            Tensor? grad = _parameters[i].grad;
            if (grad is null)
            {
                slice.Clear();
                continue;
            }

            using Tensor host = grad.cpu();
            host.data<float>().ToArray().CopyTo(slice);
        }
    }

    IPolicyModel IPolicyModel.ClonePolicy() => Clone();

    public TorchPolicyModel Clone() => From(this, Device);

    public IScoredBatch Score(TokenBatch batch, IScoredBatch? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.SeqLen > Config.MaxSeqLen)
        {
            throw new ArgumentException($"The batch has {batch.SeqLen} positions but the model's MaxSeqLen is {Config.MaxSeqLen}.", nameof(batch));
        }

        // The previous result's autograd graph is released here: a model keeps at most one live pass.
        _last?.Dispose();
        _last = null;
        int n = batch.TokenCount;
        var targets = new long[n];
        for (int i = 0; i < n; i++)
        {
            CheckId(batch.InputIds[i], i, "input");
            targets[i] = batch.LossMask[i] ? CheckId(batch.TargetIds[i], i, "target") : 0;
        }

        Tensor logp, entropy;
        using (torch.NewDisposeScope())
        {
            Tensor logits = Logits(batch);
            Tensor all = logits.log_softmax(-1);
            Tensor scored = torch.tensor(batch.LossMask, device: Device);
            Tensor token = all.gather(-1, torch.tensor(targets, [n, 1], device: Device)).squeeze(-1);
            Tensor detached = all.detach();
            Tensor spread = detached.exp().mul(detached).sum(-1).neg();
            logp = torch.where(scored, token, 0f).MoveToOuterDisposeScope();
            entropy = torch.where(scored, spread, 0f).MoveToOuterDisposeScope();
        }

        _last = new TorchScoredBatch(logp, entropy);
        return _last;
    }

    /// <summary>Raw logits [B·T, V] of a batch (no graph kept), for comparisons with the built-in model.</summary>
    public float[] HostLogits(TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return Logits(batch).cpu().data<float>().ToArray();
    }

    public void ZeroGradients()
    {
        foreach (Parameter p in _parameters)
        {
            p.grad?.zero_();
        }
    }

    public void Backward(IScoredBatch scored, ReadOnlySpan<float> dLogp)
    {
        if (scored is not TorchScoredBatch pass || !ReferenceEquals(pass, _last))
        {
            throw new ArgumentException("A TorchSharp model back-propagates only its own latest Score result.", nameof(scored));
        }

        if (dLogp.Length != pass.TokenLogp.Length)
        {
            throw new ArgumentException($"dLogp has {dLogp.Length} entries; the batch has {pass.TokenLogp.Length} positions.", nameof(dLogp));
        }

        using (torch.NewDisposeScope())
        {
            Tensor weights = torch.tensor(dLogp.ToArray(), device: Device);
            pass.Graph.mul(weights).sum().backward();
        }

        // The graph is spent; release it now rather than at the next Score.
        pass.Dispose();
        _last = null;
    }

    public float ClipGradients(float maxNorm)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxNorm);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor sum = torch.zeros(1, ScalarType.Float64, Device);
        foreach (Parameter p in _parameters)
        {
            if (p.grad is Tensor g)
            {
                sum.add_(g.to(ScalarType.Float64).square().sum());
            }
        }

        var norm = (float)Math.Sqrt(sum.item<double>());
        if (norm > maxNorm)
        {
            foreach (Parameter p in _parameters)
            {
                p.grad?.mul_(maxNorm / norm);
            }
        }

        return norm;
    }

    public IPolicyOptimizer CreateOptimizer(AdamWOptions options) => new TorchAdamW(this, options);

    public IIncrementalDecoder CreateDecoder(int rows, int capacity) => new TorchDecoder(this, _module, rows, capacity);

    public void Dispose()
    {
        _last?.Dispose();
        _module.Dispose();
    }

    /// <summary>Logits [B·T, V]; a position counts the real tokens before it, so left and right padding agree.</summary>
    private Tensor Logits(TokenBatch batch)
    {
        int b = batch.BatchSize, t = batch.SeqLen;
        var positions = new long[batch.TokenCount];
        for (int row = 0; row < b; row++)
        {
            int count = 0;
            for (int j = 0; j < t; j++)
            {
                positions[(row * t) + j] = count;
                count += batch.AttentionMask[(row * t) + j] ? 1 : 0;
            }
        }

        Tensor ids = torch.tensor(batch.InputIds.Select(i => (long)i).ToArray(), [b, t], device: Device);
        Tensor pos = torch.tensor(positions, [b, t], device: Device);
        Tensor keys = torch.tensor(batch.AttentionMask, [b, 1, 1, t], device: Device);
        Tensor causal = torch.ones(t, t, ScalarType.Bool, Device).tril().view(1, 1, t, t);
        Tensor logits = _module.Forward(ids, pos, causal.logical_and(keys));
        return logits.view(b * t, Config.VocabSize);
    }

    private long CheckId(int id, int position, string what) =>
        (uint)id < (uint)Config.VocabSize ? id : throw new ArgumentException($"The {what} token id {id} at position {position} is outside the vocabulary of {Config.VocabSize}.");

    private void RequireLength(int length, string name)
    {
        if (length != Layout.TotalLength)
        {
            throw new ArgumentException($"{name} holds {length} values; the model has {Layout.TotalLength} parameters.", name);
        }
    }

    private sealed class TorchScoredBatch(Tensor graph, Tensor entropy) : IScoredBatch, IDisposable
    {
        public Tensor Graph { get; } = graph;

        public float[] TokenLogp { get; } = graph.detach().cpu().data<float>().ToArray();

        public float[] Entropy { get; } = entropy.cpu().data<float>().ToArray();

        public void Dispose()
        {
            Graph.Dispose();
            entropy.Dispose();
        }
    }
}
