using TorchSharp;
using static TorchSharp.torch;

namespace Basis.Model.Torch;

using Tensor = TorchSharp.torch.Tensor;

/// <summary>KV-cached incremental decoding on libtorch: rows of different lengths step together, padded to the longest.</summary>
internal sealed class TorchDecoder : IIncrementalDecoder
{
    private readonly TorchPolicyModel _model;
    private readonly TorchTransformer _module;
    private readonly int _capacity;
    private readonly int[] _lengths;
    private readonly KvCache _cache;

    public TorchDecoder(TorchPolicyModel model, TorchTransformer module, int rows, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _model = model;
        _module = module;
        _capacity = capacity;
        _lengths = new int[rows];
        _cache = new KvCache(model.Config, rows, capacity, model.Device);
    }

    public int Length(int row) => _lengths[row];

    public float[] Prefill(IReadOnlyList<IReadOnlyList<int>> prompts) => Feed([.. Enumerable.Range(0, prompts.Count)], prompts);

    public float[] Step(ReadOnlySpan<int> rows, ReadOnlySpan<int> tokens)
    {
        var fed = new IReadOnlyList<int>[tokens.Length];
        for (int i = 0; i < fed.Length; i++)
        {
            fed[i] = [tokens[i]];
        }

        return Feed(rows.ToArray(), fed);
    }

    private float[] Feed(int[] rows, IReadOnlyList<IReadOnlyList<int>> tokens)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(tokens);
        int r = rows.Length;
        int l = tokens.Max(t => t.Count);
        var ids = new long[r * l];
        var positions = new long[r * l];
        var valid = new bool[r * l];
        var last = new long[r];
        int visible = 0;
        for (int i = 0; i < r; i++)
        {
            int row = rows[i], count = tokens[i].Count, start = _lengths[row];
            if (count == 0 || start + count > _capacity)
            {
                throw new InvalidOperationException($"Row {row} would exceed the KV cache capacity of {_capacity} positions (or was given no token).");
            }

            for (int j = 0; j < l; j++)
            {
                int k = (i * l) + j;
                valid[k] = j < count;

                // Padding repeats the row's last position: it is never written to the cache and its output is unused.
                positions[k] = start + Math.Min(j, count - 1);
                ids[k] = valid[k] ? tokens[i][j] : 0;
            }

            last[i] = (i * l) + count - 1;
            visible = Math.Max(visible, start + count);
        }

        float[] logits;
        using (torch.NewDisposeScope())
        using (torch.no_grad())
        {
            Device device = _model.Device;
            Tensor output = _module.Step(
                torch.tensor(ids, [r, l], device: device),
                torch.tensor(positions, [r, l], device: device),
                torch.tensor(valid, [r, l], device: device),
                torch.tensor(rows.Select(x => (long)x).ToArray(), device: device),
                _cache,
                visible);
            logits = output.view(r * l, -1).index_select(0, torch.tensor(last, device: device)).cpu().data<float>().ToArray();
        }

        for (int i = 0; i < r; i++)
        {
            _lengths[rows[i]] += tokens[i].Count;
        }

        return logits;
    }
}
