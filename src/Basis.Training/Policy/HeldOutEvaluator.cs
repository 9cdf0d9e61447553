using Basis.Model;
using Basis.Model.Sampling;
using Basis.Tasks;
using Basis.Tasks.Verification;

namespace Basis.Training.Policy;

/// <summary>Accuracy on the held-out split, measured the same way at every evaluation of a run.</summary>
public sealed class HeldOutEvaluator
{
    private const int Chunk = 256;
    private readonly IReadOnlyList<TaskPrompt> _prompts;
    private readonly VerifierRegistry _verifiers;
    private readonly PolicyText _text;
    private readonly SamplingOptions _sampling;
    private readonly ulong _seed;

    /// <param name="sampling">Temperature 0 is greedy accuracy; above 0 it is sampled pass@1 with a fixed seed.</param>
    public HeldOutEvaluator(IReadOnlyList<TaskPrompt> prompts, VerifierRegistry verifiers, PolicyText text, SamplingOptions sampling, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(verifiers);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sampling);
        _prompts = prompts;
        _verifiers = verifiers;
        _text = text;
        _sampling = sampling with { StopTokens = text.StopTokens };
        _seed = seed;
    }

    public int Count => _prompts.Count;

    public double Accuracy(IPolicyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (_prompts.Count == 0)
        {
            return double.NaN;
        }

        int correct = 0;
        for (int start = 0; start < _prompts.Count; start += Chunk)
        {
            int count = Math.Min(Chunk, _prompts.Count - start);
            var encoded = new IReadOnlyList<int>[count];
            for (int i = 0; i < count; i++)
            {
                encoded[i] = _text.EncodePrompt(_prompts[start + i].Text);
            }

            IReadOnlyList<SampledSequence> sampled = Sampler.Generate(model, encoded, _sampling, _seed + (ulong)start);
            for (int i = 0; i < count; i++)
            {
                TaskPrompt prompt = _prompts[start + i];
                if (_verifiers.Get(prompt.Verifier).Verify(_text.DecodeCompletion(sampled[i].Tokens), prompt.Gold).IsCorrect)
                {
                    correct++;
                }
            }
        }

        return (double)correct / _prompts.Count;
    }
}
