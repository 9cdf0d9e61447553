using System.Text;

namespace Basis.Cluster.Tests;

/// <summary>
/// Just enough YAML to read our deploy files: documents split by <c>---</c>, block mappings and
/// sequences, plain and quoted scalars, literal blocks (<c>|</c>), flow sequences of scalars and
/// the empty flow mapping. Anything else fails loudly rather than being misread.
/// Values are <see cref="Dictionary{TKey,TValue}"/>, <see cref="List{T}"/> or string (null when empty).
/// </summary>
internal static class MiniYaml
{
    public static IReadOnlyList<object?> ParseDocuments(string text)
    {
        var documents = new List<object?>();
        var current = new List<string>();
        foreach (string raw in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (raw.TrimEnd() == "---")
            {
                documents.Add(Parse(current));
                current = [];
            }
            else
            {
                current.Add(raw);
            }
        }

        documents.Add(Parse(current));
        return documents.Where(d => d is not null).ToList();
    }

    private static object? Parse(List<string> raw)
    {
        var reader = new Reader(raw);
        reader.SkipBlank();
        return reader.AtEnd ? null : reader.Block(reader.Indent);
    }

    private sealed class Reader(List<string> lines)
    {
        private int _index;

        public bool AtEnd => _index >= lines.Count;

        public int Indent => lines[_index].Length - lines[_index].TrimStart(' ').Length;

        private string Content => StripComment(lines[_index].Trim());

        public void SkipBlank()
        {
            while (!AtEnd && Content.Length == 0)
            {
                _index++;
            }
        }

        public object Block(int indent) => Content.StartsWith('-') && (Content.Length == 1 || Content[1] == ' ') ? Sequence(indent) : Mapping(indent, Content);

        private Dictionary<string, object?> Mapping(int indent, string firstLine)
        {
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            string line = firstLine;
            while (true)
            {
                int colon = KeyColon(line);
                if (colon < 0)
                {
                    throw new FormatException($"line {_index + 1}: expected 'key: value', found '{line}'");
                }

                string key = Unquote(line[..colon].Trim());
                string rest = line[(colon + 1)..].Trim();
                _index++;
                map.Add(key, Value(indent, rest));
                SkipBlank();
                if (AtEnd || Indent != indent || Content.StartsWith("- ", StringComparison.Ordinal) || Content == "-")
                {
                    return map;
                }

                line = Content;
            }
        }

        private object? Value(int indent, string rest)
        {
            if (rest is "|" or "|-")
            {
                return Literal(indent);
            }

            if (rest.Length > 0)
            {
                return Scalar(rest);
            }

            SkipBlank();
            if (AtEnd)
            {
                return null;
            }

            if (Indent > indent || (Indent == indent && (Content.StartsWith("- ", StringComparison.Ordinal) || Content == "-")))
            {
                return Block(Indent);
            }

            return null;
        }

        private List<object?> Sequence(int indent)
        {
            var list = new List<object?>();
            while (!AtEnd && Indent == indent && (Content.StartsWith("- ", StringComparison.Ordinal) || Content == "-"))
            {
                string item = Content.Length > 1 ? Content[2..].Trim() : string.Empty;
                if (item.Length == 0)
                {
                    _index++;
                    SkipBlank();
                    list.Add(Block(Indent));
                }
                else if (KeyColon(item) > 0 && !item.StartsWith('[') && !item.StartsWith('"'))
                {
                    // "- key: value": a mapping whose keys sit two columns right of the dash.
                    list.Add(Mapping(indent + 2, item));
                }
                else
                {
                    list.Add(Scalar(item));
                    _index++;
                }

                SkipBlank();
            }

            return list;
        }

        private string Literal(int indent)
        {
            var text = new StringBuilder();
            int? blockIndent = null;
            while (!AtEnd)
            {
                string raw = lines[_index];
                if (raw.Trim().Length > 0)
                {
                    int at = raw.Length - raw.TrimStart(' ').Length;
                    if (at <= indent)
                    {
                        break;
                    }

                    blockIndent ??= at;
                    text.Append(raw[Math.Min(blockIndent.Value, at)..]);
                }

                text.Append('\n');
                _index++;
            }

            return text.ToString();
        }
    }

    private static int KeyColon(string line)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == ':' && (i + 1 == line.Length || line[i + 1] == ' '))
            {
                return i;
            }
        }

        return -1;
    }

    private static string StripComment(string line)
    {
        bool single = false;
        bool dbl = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"' && !single)
            {
                dbl = !dbl;
            }
            else if (c == '\'' && !dbl)
            {
                single = !single;
            }
            else if (c == '#' && !single && !dbl && (i == 0 || line[i - 1] == ' '))
            {
                return line[..i].TrimEnd();
            }
        }

        return line;
    }

    private static object? Scalar(string text)
    {
        if (text == "{}")
        {
            return new Dictionary<string, object?>();
        }

        if (text.StartsWith('{'))
        {
            throw new FormatException($"flow mappings are not supported here: '{text}'");
        }

        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            return SplitFlow(text[1..^1]).Select(item => (object?)Unquote(item.Trim())).ToList();
        }

        return Unquote(text);
    }

    private static IEnumerable<string> SplitFlow(string text)
    {
        var item = new StringBuilder();
        bool quoted = false;
        foreach (char c in text)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }

            if (c == ',' && !quoted)
            {
                yield return item.ToString();
                item.Clear();
            }
            else
            {
                item.Append(c);
            }
        }

        if (item.ToString().Trim().Length > 0)
        {
            yield return item.ToString();
        }
    }

    private static string Unquote(string text) =>
        text.Length >= 2 && ((text[0] == '"' && text[^1] == '"') || (text[0] == '\'' && text[^1] == '\''))
            ? text[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal)
            : text;
}
