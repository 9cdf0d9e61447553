namespace Basis.Tasks.Verification;

/// <summary>
/// Countdown-style answers. The gold is a reference solution that uses every given number once, e.g.
/// "(25-7)*4+3"; a completion is correct when its first line is an arithmetic expression (integers,
/// + - * /, parentheses) that uses each of those numbers at most once and has the same value. Division
/// must be exact. The expression is parsed by a small grammar, never executed.
/// </summary>
public sealed class CountdownVerifier : VerifierBase
{
    public const string RegistryName = "countdown";

    private const int MaxExpressionChars = 128;
    private const int MaxOperands = 8;

    public CountdownVerifier(VerifierOptions? options = null)
        : base(options)
    {
    }

    public override string Name => RegistryName;

    private protected override VerificationResult VerifyCore(string completion, string gold, ref Deadline deadline)
    {
        if (CountdownExpression.Evaluate(gold.Trim(), Options.MaxNestingDepth, MaxOperands, ref deadline, out long target, out List<long> numbers)
            != CountdownExpression.Status.Ok)
        {
            return VerificationResult.Fail(VerificationReason.BadInput);
        }

        ReadOnlySpan<char> answer = completion.AsSpan();
        int newline = answer.IndexOf('\n');
        string expression = (newline >= 0 ? answer[..newline] : answer).Trim().ToString();
        if (expression.Length == 0)
        {
            return VerificationResult.Fail(VerificationReason.NoAnswer);
        }

        if (expression.Length > MaxExpressionChars)
        {
            return VerificationResult.Fail(VerificationReason.TooLarge);
        }

        switch (CountdownExpression.Evaluate(expression, Options.MaxNestingDepth, MaxOperands, ref deadline, out long value, out List<long> used))
        {
            case CountdownExpression.Status.TooLarge:
                return VerificationResult.Fail(VerificationReason.TooLarge);
            case CountdownExpression.Status.NotAnExpression:
                return VerificationResult.Fail(VerificationReason.NoAnswer);
            case CountdownExpression.Status.InvalidArithmetic:
                return VerificationResult.Wrong(expression);
        }

        return value == target && UsesOnlyGiven(used, numbers)
            ? VerificationResult.Correct(expression)
            : VerificationResult.Wrong(expression);
    }

    // Each given number may be used at most once; numbers not given are not allowed.
    private static bool UsesOnlyGiven(List<long> used, List<long> given)
    {
        var remaining = new List<long>(given);
        foreach (long number in used)
        {
            if (!remaining.Remove(number))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Parses and evaluates integer expressions with + - * / and parentheses; division must be exact.</summary>
internal ref struct CountdownExpression
{
    private readonly string _s;
    private readonly int _maxDepth;
    private readonly int _maxOperands;
    private readonly ref Deadline _deadline;
    private readonly List<long> _numbers;
    private int _pos;
    private int _depth;
    private Status _status;

    private CountdownExpression(string s, int maxDepth, int maxOperands, ref Deadline deadline)
    {
        _s = s;
        _maxDepth = maxDepth;
        _maxOperands = maxOperands;
        _deadline = ref deadline;
        _numbers = [];
        _status = Status.Ok;
    }

    internal enum Status
    {
        Ok,
        NotAnExpression,
        InvalidArithmetic,
        TooLarge,
    }

    public static Status Evaluate(string text, int maxDepth, int maxOperands, ref Deadline deadline, out long value, out List<long> numbers)
    {
        var parser = new CountdownExpression(text, maxDepth, maxOperands, ref deadline);
        bool ok = parser.TryExpression(out value);
        parser.SkipSpaces();
        numbers = parser._numbers;
        if (parser._status != Status.Ok)
        {
            return parser._status;
        }

        return ok && parser._pos == text.Length && numbers.Count > 0 ? Status.Ok : Status.NotAnExpression;
    }

    private bool TryExpression(out long value)
    {
        if (!TryTerm(out value))
        {
            return false;
        }

        while (true)
        {
            SkipSpaces();
            if (_pos >= _s.Length || _s[_pos] is not ('+' or '-'))
            {
                return true;
            }

            char op = _s[_pos++];
            if (!TryTerm(out long right) || !Apply(op, ref value, right))
            {
                return false;
            }
        }
    }

    private bool TryTerm(out long value)
    {
        if (!TryFactor(out value))
        {
            return false;
        }

        while (true)
        {
            SkipSpaces();
            if (_pos >= _s.Length || _s[_pos] is not ('*' or '/' or '\u00D7' or '\u00F7'))
            {
                return true;
            }

            char op = _s[_pos++] switch { '\u00D7' => '*', '\u00F7' => '/', char c => c };
            if (!TryFactor(out long right) || !Apply(op, ref value, right))
            {
                return false;
            }
        }
    }

    private bool TryFactor(out long value)
    {
        value = 0;
        _deadline.Tick();
        SkipSpaces();
        if (_pos >= _s.Length)
        {
            return false;
        }

        if (_s[_pos] == '(')
        {
            if (++_depth > _maxDepth)
            {
                _status = Status.TooLarge;
                return false;
            }

            _pos++;
            if (!TryExpression(out value))
            {
                return false;
            }

            SkipSpaces();
            if (_pos >= _s.Length || _s[_pos] != ')')
            {
                return false;
            }

            _pos++;
            _depth--;
            return true;
        }

        int start = _pos;
        while (_pos < _s.Length && char.IsAsciiDigit(_s[_pos]))
        {
            _pos++;
        }

        if (_pos == start)
        {
            return false;
        }

        if (_pos - start > 9 || _numbers.Count >= _maxOperands)
        {
            _status = Status.TooLarge;
            return false;
        }

        value = long.Parse(_s.AsSpan(start, _pos - start), System.Globalization.CultureInfo.InvariantCulture);
        _numbers.Add(value);
        return true;
    }

    private bool Apply(char op, ref long left, long right)
    {
        try
        {
            switch (op)
            {
                case '+':
                    left = checked(left + right);
                    return true;
                case '-':
                    left = checked(left - right);
                    return true;
                case '*':
                    left = checked(left * right);
                    return true;
                default:
                    if (right == 0 || left % right != 0)
                    {
                        _status = Status.InvalidArithmetic;
                        return false;
                    }

                    left /= right;
                    return true;
            }
        }
        catch (OverflowException)
        {
            _status = Status.TooLarge;
            return false;
        }
    }

    private void SkipSpaces()
    {
        while (_pos < _s.Length && _s[_pos] == ' ')
        {
            _pos++;
        }
    }
}
