using System.Numerics.Tensors;
using Basis.Model;

namespace Basis.Training.Policy;

/// <summary>
/// Data parallelism inside the learner: one-thread replicas of its model each score and back-propagate a contiguous
/// shard of whole sequences, and their gradients are summed in shard order into the learner's model. A small model's
/// matrix products are too small to split across cores efficiently (two threads buy the reference model about 1.3
/// times one); whole sequences are not. The sum order is fixed by the shard count, so a run is deterministic for a
/// given count, but not bit-identical to one with another count or with kernel-parallel products.
/// </summary>
internal sealed class LearnerShards
{
    private readonly TransformerModel[] _replicas;

    public LearnerShards(TransformerModel model, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        _replicas = new TransformerModel[shards];
        for (int s = 0; s < shards; s++)
        {
            _replicas[s] = model.Clone();
            _replicas[s].Threads = 1;
        }
    }

    public int Count => _replicas.Length;

    /// <summary>
    /// Cuts rows 0..n−1 of the given lengths into at most <paramref name="shards"/> contiguous shards of about equal
    /// token counts; returns the first row of each shard and n last (a shard is never empty).
    /// </summary>
    public static int[] Boundaries(IReadOnlyList<int> lengths, int shards)
    {
        long total = lengths.Sum(length => (long)length);
        var bounds = new List<int> { 0 };
        long running = 0;
        for (int row = 0; row < lengths.Count; row++)
        {
            running += lengths[row];
            int shard = bounds.Count;
            if (shard < shards && row + 1 < lengths.Count && running * shards >= total * shard)
            {
                bounds.Add(row + 1);
            }
        }

        bounds.Add(lengths.Count);
        return [.. bounds];
    }

    /// <summary>Loads <paramref name="model"/>'s current weights into every replica, then runs each shard's forward pass on its own thread.</summary>
    public ForwardPass[] Forward(TransformerModel model, TokenBatch[] shards)
    {
        var passes = new ForwardPass[shards.Length];
        Parallel.For(0, shards.Length, new ParallelOptions { MaxDegreeOfParallelism = shards.Length, TaskScheduler = TaskScheduler.Default }, s =>
        {
            _replicas[s].CopyWeightsFrom(model);
            passes[s] = _replicas[s].Forward(shards[s]);
        });
        return passes;
    }

    /// <summary>Back-propagates each shard on its own thread and leaves the sum of their gradients, in shard order, in <paramref name="model"/>.</summary>
    public void Backward(TransformerModel model, ForwardPass[] passes, float[][] dLogp)
    {
        Parallel.For(0, passes.Length, new ParallelOptions { MaxDegreeOfParallelism = passes.Length, TaskScheduler = TaskScheduler.Default }, s =>
        {
            _replicas[s].ZeroGradients();
            _replicas[s].Backward(passes[s], dLogp[s]);
        });
        _replicas[0].Gradients.CopyTo(model.Gradients, 0);
        for (int s = 1; s < passes.Length; s++)
        {
            TensorPrimitives.Add(model.Gradients, _replicas[s].Gradients, model.Gradients);
        }
    }
}
