using Basis.Model;
using Basis.Model.Sampling;
using Basis.Tasks;
using Basis.Tasks.OfflineTable;

namespace Basis.Training.Policy;

/// <summary>Samples completions of task prompts from the built-in policy (offline table, evaluation).</summary>
public sealed class TransformerCompletionSampler : ICompletionSampler
{
    private readonly IPolicyModel _model;
    private readonly PolicyText _text;
    private readonly SamplingOptions _sampling;

    public TransformerCompletionSampler(IPolicyModel model, PolicyText text, SamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sampling);
        _model = model;
        _text = text;
        _sampling = sampling with { StopTokens = text.StopTokens };
        _sampling.Validate();
    }

    public IReadOnlyList<string> Sample(IReadOnlyList<TaskPrompt> prompts, int samplesPerPrompt, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samplesPerPrompt);
        var encoded = new IReadOnlyList<int>[prompts.Count * samplesPerPrompt];
        for (int i = 0; i < prompts.Count; i++)
        {
            int[] tokens = _text.EncodePrompt(prompts[i].Text);
            for (int k = 0; k < samplesPerPrompt; k++)
            {
                encoded[(i * samplesPerPrompt) + k] = tokens;
            }
        }

        IReadOnlyList<SampledSequence> sampled = Sampler.Generate(_model, encoded, _sampling, seed);
        return sampled.Select(s => _text.DecodeCompletion(s.Tokens)).ToArray();
    }
}
