using System.Buffers;

namespace Basis.Tasks.Verification;

/// <summary>
/// Shared guard rails: null/oversized/binary inputs are answered before any parsing, and the deadline
/// is started here so every implementation gets the same timeout behaviour.
/// </summary>
public abstract class VerifierBase : IVerifier
{
    // C0 controls other than tab, line feed, vertical tab, form feed and carriage return, DEL, and U+FFFD
    // (what a decoder substitutes for invalid bytes): text containing them is treated as binary.
    private static readonly SearchValues<char> s_binaryChars = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F\u007F\uFFFD");

    protected VerifierBase(VerifierOptions? options)
    {
        Options = options ?? VerifierOptions.Default;
        Options.Validate();
    }

    public abstract string Name { get; }

    protected VerifierOptions Options { get; }

    public VerificationResult Verify(string completion, string gold)
    {
        if (string.IsNullOrWhiteSpace(gold) || gold.Length > Options.MaxCompletionChars)
        {
            return VerificationResult.Fail(VerificationReason.BadInput);
        }

        if (string.IsNullOrWhiteSpace(completion))
        {
            return VerificationResult.Fail(VerificationReason.NoAnswer);
        }

        if (completion.Length > Options.MaxCompletionChars)
        {
            return VerificationResult.Fail(VerificationReason.TooLarge);
        }

        if (completion.AsSpan().ContainsAny(s_binaryChars))
        {
            return VerificationResult.Fail(VerificationReason.Binary);
        }

        var deadline = new Deadline(Options.TimeProvider, Options.TimeLimit);
        try
        {
            VerificationResult result = VerifyCore(completion, gold, ref deadline);
            deadline.Check();
            return result;
        }
        catch (VerificationTimeoutException)
        {
            return VerificationResult.Fail(VerificationReason.Timeout);
        }
    }

    /// <summary>
    /// Scores a non-empty, size-checked, non-binary completion. Long loops must call <see cref="Deadline.Tick"/>.
    /// </summary>
    private protected abstract VerificationResult VerifyCore(string completion, string gold, ref Deadline deadline);
}
