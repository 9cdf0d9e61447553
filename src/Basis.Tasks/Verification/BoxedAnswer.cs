namespace Basis.Tasks.Verification;

internal enum ExtractStatus
{
    Found,
    NotFound,
    TooDeep,
}

/// <summary>Finds the content of the last <c>\boxed{...}</c> or <c>\fbox{...}</c>, braces matched.</summary>
internal static class BoxedAnswer
{
    private static readonly string[] s_commands = [@"\boxed", @"\fbox"];

    public static ExtractStatus TryExtractLast(string text, int maxDepth, ref Deadline deadline, out string content)
    {
        content = string.Empty;
        int commandStart = -1;
        int commandEnd = -1;
        foreach (string command in s_commands)
        {
            int at = text.LastIndexOf(command, StringComparison.Ordinal);
            if (at > commandStart)
            {
                commandStart = at;
                commandEnd = at + command.Length;
            }
        }

        deadline.Check();
        if (commandStart < 0)
        {
            return ExtractStatus.NotFound;
        }

        int i = commandEnd;
        while (i < text.Length && text[i] == ' ')
        {
            i++;
        }

        if (i < text.Length && text[i] == '{')
        {
            return TryMatchGroup(text, i, maxDepth, ref deadline, out content);
        }

        // "\boxed 5": the argument is the next run of non-space characters.
        if (i == commandEnd || i >= text.Length)
        {
            return ExtractStatus.NotFound;
        }

        int end = i;
        while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] != '$')
        {
            end++;
        }

        content = text[i..end];
        return content.Length == 0 ? ExtractStatus.NotFound : ExtractStatus.Found;
    }

    /// <summary>Matches the group opening at <paramref name="open"/>; "\{" and "\}" are literal braces.</summary>
    public static ExtractStatus TryMatchGroup(string text, int open, int maxDepth, ref Deadline deadline, out string content)
    {
        content = string.Empty;
        int depth = 0;
        for (int i = open; i < text.Length; i++)
        {
            deadline.Tick();
            switch (text[i])
            {
                case '\\':
                    i++;
                    break;
                case '{':
                    if (++depth > maxDepth)
                    {
                        return ExtractStatus.TooDeep;
                    }

                    break;
                case '}':
                    if (--depth == 0)
                    {
                        content = text[(open + 1)..i];
                        return ExtractStatus.Found;
                    }

                    break;
            }
        }

        return ExtractStatus.NotFound;
    }
}
