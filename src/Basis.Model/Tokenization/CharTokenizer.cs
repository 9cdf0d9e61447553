using System.Text;

namespace Basis.Model.Tokenization;

/// <summary>Turns text into token ids and back; a BPE tokenizer implements the same contract.</summary>
public interface ITokenizer
{
    int VocabSize { get; }

    int PadId { get; }

    int BosId { get; }

    int EosId { get; }

    /// <summary>Special token strings by id (e.g. "&lt;pad&gt;").</summary>
    IReadOnlyList<string> SpecialTokens { get; }

    IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false);

    /// <summary>Text of <paramref name="ids"/>; special tokens are dropped unless <paramref name="keepSpecial"/>.</summary>
    string Decode(IEnumerable<int> ids, bool keepSpecial = false);
}

/// <summary>One token per character of a fixed alphabet, after the special tokens &lt;pad&gt; &lt;bos&gt; &lt;eos&gt; &lt;unk&gt;.</summary>
public sealed class CharTokenizer : ITokenizer
{
    private static readonly string[] s_specials = ["<pad>", "<bos>", "<eos>", "<unk>"];

    private readonly Dictionary<char, int> _ids = [];
    private readonly char[] _chars;

    public CharTokenizer(string alphabet)
    {
        ArgumentNullException.ThrowIfNull(alphabet);
        var chars = new List<char>();
        foreach (var c in alphabet)
        {
            if (_ids.TryAdd(c, s_specials.Length + chars.Count))
            {
                chars.Add(c);
            }
        }

        if (chars.Count == 0)
        {
            throw new ArgumentException("The alphabet is empty.", nameof(alphabet));
        }

        _chars = [.. chars];
    }

    /// <summary>Printable ASCII (space to '~') plus newline.</summary>
    public static CharTokenizer Ascii { get; } = new("\n" + string.Concat(Enumerable.Range(32, 95).Select(i => (char)i)));

    public int VocabSize => s_specials.Length + _chars.Length;

    public int PadId => 0;

    public int BosId => 1;

    public int EosId => 2;

    public int UnknownId => 3;

    public IReadOnlyList<string> SpecialTokens => s_specials;

    /// <summary>The alphabet in id order (ids start after the special tokens).</summary>
    public string Alphabet => new(_chars);

    public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length + 2);
        if (addBos)
        {
            ids.Add(BosId);
        }

        foreach (var c in text)
        {
            ids.Add(_ids.TryGetValue(c, out var id) ? id : UnknownId);
        }

        if (addEos)
        {
            ids.Add(EosId);
        }

        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool keepSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if (id >= s_specials.Length && id < VocabSize)
            {
                sb.Append(_chars[id - s_specials.Length]);
            }
            else if (keepSpecial)
            {
                sb.Append(id >= 0 && id < s_specials.Length ? s_specials[id] : "<unk>");
            }
            else if (id < 0 || id >= VocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {id} is outside the vocabulary of {VocabSize}.");
            }
        }

        return sb.ToString();
    }
}
