namespace Basis.Tasks;

/// <summary>
/// One prompt of a task set. <see cref="Gold"/> is the reference answer handed to the verifier named by
/// <see cref="Verifier"/>; for synthetic arithmetic it is also the exact completion the policy is trained
/// to emit (followed by its end token).
/// </summary>
/// <param name="Id">Stable identifier, e.g. "arith-3f9a0c1b22de" or "gsm8k-test-000017".</param>
/// <param name="Text">The prompt text given to the policy, e.g. "37+58=".</param>
/// <param name="Gold">The reference answer, e.g. "95".</param>
/// <param name="Difficulty">A difficulty tag, e.g. the generator tier "add-2d-carry" or "steps-3".</param>
/// <param name="Verifier">The registry name of the verifier that scores completions ("exact", "gsm8k", "boxed").</param>
public sealed record TaskPrompt(string Id, string Text, string Gold, string Difficulty, string Verifier);
