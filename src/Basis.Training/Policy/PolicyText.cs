using Basis.Model.Tokenization;

namespace Basis.Training.Policy;

/// <summary>
/// The text contract between tasks and the built-in policy, shared with SFT: a sequence is
/// &lt;bos&gt; prompt completion &lt;eos&gt;, and generation stops at &lt;eos&gt;.
/// </summary>
public sealed class PolicyText
{
    public PolicyText(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        Tokenizer = tokenizer;
        StopTokens = [tokenizer.EosId];
    }

    public ITokenizer Tokenizer { get; }

    public IReadOnlyList<int> StopTokens { get; }

    public int[] EncodePrompt(string prompt) => Tokenizer.Encode(prompt, addBos: true).ToArray();

    /// <summary>The completion's text without the stop token.</summary>
    public string DecodeCompletion(IReadOnlyList<int> tokens)
    {
        int length = tokens.Count;
        if (length > 0 && tokens[length - 1] == Tokenizer.EosId)
        {
            length--;
        }

        return Tokenizer.Decode(tokens.Take(length));
    }
}
