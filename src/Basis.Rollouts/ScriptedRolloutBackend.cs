using System.Text;

namespace Basis.Rollouts;

/// <summary>
/// An in-memory backend with deterministic completions and a fixed latency on a <see cref="TimeProvider"/>:
/// for tests, and for benchmarking the training graph without a model.
/// </summary>
/// <remarks>
/// By default a completion is a few words drawn from a small vocabulary by a hash of (prompt, seed, sample index),
/// so the same seeded request always gives the same completion. Without a seed each call draws a fresh seed,
/// as a sampling server would. Pass a <see cref="Script"/> to return chosen completions instead.
/// </remarks>
public sealed class ScriptedRolloutBackend : IRolloutBackend
{
    private static readonly string[] s_vocabulary =
        [" the", " answer", " is", " 4", " 7", " 12", " so", " we", " add", " then", "."];

    private readonly TimeSpan _latency;
    private readonly TimeProvider _timeProvider;
    private readonly Script _script;
    private long _unseededCalls;

    /// <summary>Makes completion <paramref name="sampleIndex"/> of <paramref name="request"/> for the given effective seed.</summary>
    public delegate RolloutCompletion Script(RolloutRequest request, int sampleIndex, long seed);

    /// <param name="latency">How long every <see cref="GenerateAsync"/> call takes, measured on <paramref name="timeProvider"/>.</param>
    /// <param name="timeProvider">The clock the latency is spent on; tests pass a manual one.</param>
    /// <param name="script">What to answer; null uses <see cref="DefaultScript"/>.</param>
    /// <param name="policyVersion">Reported as <see cref="RolloutResult.PolicyVersion"/>.</param>
    public ScriptedRolloutBackend(TimeSpan latency = default, TimeProvider? timeProvider = null, Script? script = null, string policyVersion = "scripted")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(latency, TimeSpan.Zero);
        _latency = latency;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _script = script ?? DefaultScript;
        PolicyVersion = policyVersion;
    }

    public string Name => "scripted";

    public string PolicyVersion { get; }

    public async Task<IReadOnlyList<RolloutResult>> GenerateAsync(IReadOnlyList<RolloutRequest> requests, CancellationToken cancellationToken)
    {
        RolloutRequestValidator.Validate(requests);
        cancellationToken.ThrowIfCancellationRequested();
        if (_latency > TimeSpan.Zero)
        {
            await Task.Delay(_latency, _timeProvider, cancellationToken).ConfigureAwait(false);
        }

        var results = new RolloutResult[requests.Count];
        for (int i = 0; i < results.Length; i++)
        {
            RolloutRequest request = requests[i];
            long seed = request.Sampling.Seed ?? unchecked((long)0x5EED_0000_0000_0000 + Interlocked.Increment(ref _unseededCalls));
            var completions = new RolloutCompletion[request.N];
            for (int k = 0; k < completions.Length; k++)
            {
                completions[k] = _script(request, k, seed);
            }

            results[i] = new RolloutResult(request.PromptId, PolicyVersion, completions);
        }

        return results;
    }

    /// <summary>1 to 8 words (never more than MaxTokens), each a token with a log-probability in [-4, 0).</summary>
    public static RolloutCompletion DefaultScript(RolloutRequest request, int sampleIndex, long seed)
    {
        ulong state = Mix(Hash(request.Prompt) ^ Mix((ulong)seed) ^ Mix((ulong)sampleIndex + 0x9E37_79B9UL));
        int wanted = 1 + (int)(Next(ref state) % 8);
        int count = Math.Min(wanted, request.Sampling.MaxTokens);
        var tokens = new string[count];
        var logprobs = new double[count];
        var text = new StringBuilder();
        for (int t = 0; t < count; t++)
        {
            tokens[t] = s_vocabulary[Next(ref state) % (ulong)s_vocabulary.Length];
            logprobs[t] = -4.0 * ((Next(ref state) >> 11) + 1) / (1UL << 53);
            text.Append(tokens[t]);
        }

        FinishReason finish = count < wanted ? FinishReason.Length : FinishReason.Stop;
        return request.Sampling.Logprobs
            ? new RolloutCompletion(text.ToString(), tokens, logprobs, finish)
            : new RolloutCompletion(text.ToString(), [], [], finish);
    }

    // FNV-1a over UTF-16 code units: stable across processes, unlike string.GetHashCode.
    private static ulong Hash(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }

    private static ulong Next(ref ulong state)
    {
        state += 0x9E37_79B9_7F4A_7C15UL;
        return Mix(state);
    }

    // SplitMix64 finalizer.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}
