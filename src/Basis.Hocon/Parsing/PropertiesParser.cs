using System.Globalization;
using System.Text;

namespace Basis.Hocon.Parsing;

/// <summary>
/// Java .properties files (for includes): <c>a.b=value</c>, <c>a.b: value</c> or <c>a.b value</c>; <c>#</c> and <c>!</c>
/// comments; a trailing backslash continues the line. Every value is a string; dots in keys make nested objects.
/// </summary>
internal static class PropertiesParser
{
    public static ObjectNode Parse(string text, string source, string[] basePath)
    {
        var root = new ObjectNode(new HoconOrigin(source, 1, 1));
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNumber = i + 1;
            string line = lines[i].TrimEnd('\r').TrimStart();
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }

            while (EndsWithContinuation(line) && i + 1 < lines.Length)
            {
                line = line[..^1] + lines[++i].TrimEnd('\r').TrimStart();
            }

            var origin = new HoconOrigin(source, lineNumber, 1);
            int separator = FindSeparator(line);
            string key = Unescape(line[..separator].TrimEnd(), origin);
            string value = separator < line.Length ? line[(separator + 1)..].TrimStart() : "";
            if (separator < line.Length && line[separator] is ' ' or '\t' && value.Length > 0 && value[0] is '=' or ':')
            {
                value = value[1..].TrimStart();
            }

            string[] path = key.Split('.');
            if (path.Any(segment => segment.Length == 0))
            {
                throw new HoconException(origin, $"invalid property key '{key}': empty path element");
            }

            var scalar = new ScalarNode(HoconValueKind.String, Unescape(value, origin), origin);
            Set(root, path, scalar, basePath);
        }

        return root;
    }

    private static void Set(ObjectNode root, string[] path, Node value, string[] basePath)
    {
        ObjectNode current = root;
        for (int i = 0; i < path.Length - 1; i++)
        {
            if (!current.Fields.TryGetValue(path[i], out Node? child) || child is not ObjectNode childObject)
            {
                // As in other implementations, an object wins over a plain value at the same key (a=1 and a.b=2).
                childObject = new ObjectNode(value.Origin) { FieldPath = PathExpression.Render([.. basePath, .. path[..(i + 1)]]) };
                current.Fields[path[i]] = childObject;
            }

            current = childObject;
        }

        if (current.Fields.TryGetValue(path[^1], out Node? existing) && existing is ObjectNode)
        {
            return;
        }

        value.FieldPath = PathExpression.Render([.. basePath, .. path]);
        current.Fields[path[^1]] = value;
    }

    private static bool EndsWithContinuation(string line)
    {
        int backslashes = 0;
        for (int i = line.Length - 1; i >= 0 && line[i] == '\\'; i--)
        {
            backslashes++;
        }

        return backslashes % 2 == 1;
    }

    private static int FindSeparator(string line)
    {
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '\\')
            {
                i++;
            }
            else if (c is '=' or ':' or ' ' or '\t')
            {
                return i;
            }
        }

        return line.Length;
    }

    private static string Unescape(string text, HoconOrigin origin)
    {
        if (!text.Contains('\\'))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c != '\\' || i + 1 >= text.Length)
            {
                builder.Append(c);
                continue;
            }

            char e = text[++i];
            switch (e)
            {
                case 't': builder.Append('\t'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 'f': builder.Append('\f'); break;
                case 'u' when i + 4 < text.Length
                    && int.TryParse(text.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code):
                    builder.Append((char)code);
                    i += 4;
                    break;
                case 'u':
                    throw new HoconException(origin, "invalid \\u escape in a properties file: expected four hexadecimal digits");
                default: builder.Append(e); break;
            }
        }

        return builder.ToString();
    }
}
