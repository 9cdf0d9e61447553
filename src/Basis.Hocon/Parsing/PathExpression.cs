using System.Text;

namespace Basis.Hocon.Parsing;

/// <summary>Parses a path expression such as <c>a.b."c.d"</c> into its segments.</summary>
internal static class PathExpression
{
    public static string[] Parse(string expression, HoconOrigin origin)
        => TryParse(expression, out string[] path, out string? error) ? path : throw new HoconException(origin, error!);

    public static bool TryParse(string expression, out string[] path, out string? error)
    {
        var segments = new List<string>();
        var current = new StringBuilder();
        bool segmentHasContent = false;
        string text = expression.Trim();
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '.')
            {
                if (!segmentHasContent)
                {
                    return Fail($"invalid path '{expression}': empty path element (quote it as \"\" if you mean an empty key)", out path, out error);
                }

                segments.Add(current.ToString());
                current.Clear();
                segmentHasContent = false;
                i++;
            }
            else if (c == '"')
            {
                int end = i + 1;
                while (end < text.Length && text[end] != '"')
                {
                    if (text[end] == '\\' && end + 1 < text.Length)
                    {
                        end++;
                        current.Append(text[end] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', char other => other });
                    }
                    else
                    {
                        current.Append(text[end]);
                    }

                    end++;
                }

                if (end >= text.Length)
                {
                    return Fail($"invalid path '{expression}': unterminated quoted segment", out path, out error);
                }

                segmentHasContent = true;
                i = end + 1;
            }
            else
            {
                current.Append(c);
                segmentHasContent = true;
                i++;
            }
        }

        if (!segmentHasContent)
        {
            return Fail(text.Length == 0 ? "empty path" : $"invalid path '{expression}': it ends with '.'", out path, out error);
        }

        segments.Add(current.ToString());
        path = [.. segments];
        error = null;
        return true;
    }

    /// <summary>Renders a path so that <see cref="Parse"/> reads it back (segments with special characters are quoted).</summary>
    public static string Render(IReadOnlyList<string> path)
    {
        var builder = new StringBuilder();
        for (int i = 0; i < path.Count; i++)
        {
            if (i > 0)
            {
                builder.Append('.');
            }

            string segment = path[i];
            bool plain = segment.Length > 0 && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
            if (plain)
            {
                builder.Append(segment);
            }
            else
            {
                builder.Append('"').Append(segment.Replace("\\", "\\\\").Replace("\"", "\\\"")).Append('"');
            }
        }

        return builder.ToString();
    }

    private static bool Fail(string message, out string[] path, out string? error)
    {
        path = [];
        error = message;
        return false;
    }
}
