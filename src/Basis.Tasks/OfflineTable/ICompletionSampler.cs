namespace Basis.Tasks.OfflineTable;

/// <summary>
/// Draws completions from a policy. Implemented by the model layer; Basis.Tasks only consumes it.
/// </summary>
public interface ICompletionSampler
{
    /// <summary>
    /// Returns <c>prompts.Count * samplesPerPrompt</c> completions: those of <c>prompts[i]</c> at indices
    /// <c>[i * samplesPerPrompt, (i + 1) * samplesPerPrompt)</c>. Each completion is the decoded text after the
    /// prompt, up to and excluding the end token. The same prompts, count and seed must give the same result.
    /// </summary>
    IReadOnlyList<string> Sample(IReadOnlyList<TaskPrompt> prompts, int samplesPerPrompt, ulong seed);
}
