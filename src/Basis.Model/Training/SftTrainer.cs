using Basis.Model.Optim;
using Basis.Model.Tokenization;

namespace Basis.Model.Training;

public sealed record SftExample(string Prompt, string Answer);

public sealed record SftOptions(
    int Epochs = 1,
    int BatchSize = 16,
    float LearningRate = 1e-3f,
    int WarmupSteps = 10,
    float MinLearningRate = 0f,
    float WeightDecay = 0.01f,
    float MaxGradNorm = 1f,
    ulong Seed = 0);

/// <summary>Reported after every optimizer step.</summary>
public sealed record SftProgress(int Step, int TotalSteps, int Epoch, float Loss, float LearningRate, float GradNorm);

/// <summary>Mean answer-token loss (nats) of the first and last step and of the last epoch.</summary>
public sealed record SftMetrics(int Steps, long AnswerTokens, float FirstLoss, float FinalLoss, float LastEpochMeanLoss);

/// <summary>
/// Supervised fine-tuning on prompt → answer pairs: the sequence is &lt;bos&gt; prompt answer &lt;eos&gt; and the loss is the mean
/// negative log-likelihood of the answer tokens and &lt;eos&gt;. AdamW, global-norm clipping, warm-up then cosine decay.
/// </summary>
public static class SftTrainer
{
    /// <param name="stopAfterStep">Called after every optimizer step with the steps done; true ends training there (an
    /// early stop on a quality target). The learning-rate schedule still spans all the steps.</param>
    public static SftMetrics Train(
        IPolicyModel model,
        ITokenizer tokenizer,
        IReadOnlyList<SftExample> examples,
        SftOptions options,
        IProgress<SftProgress>? progress = null,
        CancellationToken cancellationToken = default,
        Func<int, bool>? stopAfterStep = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        if (examples.Count == 0)
        {
            throw new ArgumentException("SFT needs at least one example.", nameof(examples));
        }

        if (options.Epochs <= 0 || options.BatchSize <= 0)
        {
            throw new ArgumentException($"SftOptions.Epochs ({options.Epochs}) and BatchSize ({options.BatchSize}) must be positive.", nameof(options));
        }

        if (tokenizer.VocabSize > model.Config.VocabSize)
        {
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize}.", nameof(tokenizer));
        }

        var encoded = new List<(IReadOnlyList<int> Tokens, int AnswerStart)>(examples.Count);
        for (var i = 0; i < examples.Count; i++)
        {
            var prompt = tokenizer.Encode(examples[i].Prompt, addBos: true);
            var answer = tokenizer.Encode(examples[i].Answer, addEos: true);
            var tokens = prompt.Concat(answer).ToList();
            if (tokens.Count - 1 > model.Config.MaxSeqLen)
            {
                throw new ArgumentException($"Example {i} is {tokens.Count} tokens long; the model's MaxSeqLen is {model.Config.MaxSeqLen}.", nameof(examples));
            }

            encoded.Add((tokens, prompt.Count));
        }

        var batchesPerEpoch = (encoded.Count + options.BatchSize - 1) / options.BatchSize;
        var totalSteps = batchesPerEpoch * options.Epochs;
        var schedule = new LearningRateSchedule(options.LearningRate, Math.Min(options.WarmupSteps, totalSteps), totalSteps, options.MinLearningRate);
        var optimizer = model.CreateOptimizer(new AdamWOptions(WeightDecay: options.WeightDecay));
        var rng = new DeterministicRandom(options.Seed);
        var order = Enumerable.Range(0, encoded.Count).ToArray();
        float firstLoss = float.NaN, lastLoss = float.NaN, epochMean = float.NaN;
        long answerTokens = 0;
        var step = 0;
        IScoredBatch? pass = null;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            for (var i = order.Length - 1; i > 0; i--)
            {
                var j = (int)(rng.NextUInt64() % (ulong)(i + 1));
                (order[i], order[j]) = (order[j], order[i]);
            }

            double epochLoss = 0;
            long epochTokens = 0;
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var chosen = order.Skip(start).Take(options.BatchSize).Select(k => encoded[k]).ToList();
                var batch = TokenBatch.FromSequences([.. chosen.Select(c => c.Tokens)], [.. chosen.Select(c => c.AnswerStart)], tokenizer.PadId);
                pass = model.Score(batch, pass);
                var scored = batch.ScoredCount;
                double nll = 0;
                var dLogp = new float[batch.TokenCount];
                for (var p = 0; p < dLogp.Length; p++)
                {
                    if (batch.LossMask[p])
                    {
                        nll -= pass.TokenLogp[p];
                        dLogp[p] = -1f / scored;
                    }
                }

                var loss = (float)(nll / scored);
                model.ZeroGradients();
                model.Backward(pass, dLogp);
                var norm = model.ClipGradients(options.MaxGradNorm);
                var lr = schedule.At(step);
                optimizer.Step(lr);
                step++;
                answerTokens += scored;
                epochLoss += nll;
                epochTokens += scored;
                if (step == 1)
                {
                    firstLoss = loss;
                }

                lastLoss = loss;
                progress?.Report(new SftProgress(step, totalSteps, epoch, loss, lr, norm));
                if (stopAfterStep?.Invoke(step) == true)
                {
                    return new SftMetrics(step, answerTokens, firstLoss, lastLoss, (float)(epochLoss / epochTokens));
                }
            }

            epochMean = (float)(epochLoss / epochTokens);
        }

        return new SftMetrics(step, answerTokens, firstLoss, lastLoss, epochMean);
    }
}
