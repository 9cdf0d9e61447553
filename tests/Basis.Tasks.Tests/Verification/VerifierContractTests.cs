using Basis.Tasks.Verification;
using FsCheck;
using FsCheck.Fluent;

namespace Basis.Tasks.Tests.Verification;

/// <summary>The contract every <see cref="IVerifier"/> honours; one subclass per implementation.</summary>
public abstract class VerifierContractTests
{
    private static readonly HashSet<string> s_knownCodes = [.. VerificationReasonCodes.All];

    protected abstract IVerifier Create(VerifierOptions? options = null);

    /// <summary>A realistic completion that this verifier scores correct against <see cref="Gold"/>.</summary>
    protected abstract string CorrectCompletion { get; }

    /// <summary>A well-formed completion with a different answer.</summary>
    protected abstract string WrongCompletion { get; }

    protected abstract string Gold { get; }

    public static TheoryData<string> AdversarialCompletions => new()
    {
        "-", ".", "$", "#", "####", "#### ", "####\n18", "The answer is", "the answer is:", "\\boxed", "\\boxed{", "\\boxed{}",
        "\\boxed{\\frac{1}{0}}", "\\boxed{0/0}", "\\boxed{1e999999}", "\\boxed{-}", "\\boxed{(}", "\\boxed{(,)}", "\\boxed{[1,2,}",
        "\\boxed{\\frac{\\frac{\\frac{", "\\boxed{\\text{", "}}}}{{{{", "\\fbox{5", "1e999999", "1,,,,2", "1,234,", "$-", "--5",
        "\\boxed{3\\frac}", "\\boxed{3 1/}", "\\boxed{1\\times10^}", "\\boxed{1\\times 10^{99999}}", "\\boxed{\\left(\\right)}",
        new string('9', 5000), "#### " + new string('9', 5000), "\\boxed{" + new string('9', 5000) + "}", "\u2212\u2212",
        "\\boxed{" + string.Concat(Enumerable.Repeat("\\frac{1}{", 50)) + "2" + new string('}', 100) + "}",
    };

    [Fact]
    public void CorrectCompletionEarnsOne()
    {
        VerificationResult result = Create().Verify(CorrectCompletion, Gold);

        Assert.Equal(VerificationReason.Correct, result.Reason);
        Assert.Equal(1.0, result.Reward);
        Assert.Equal("correct", result.ReasonCode);
    }

    [Fact]
    public void WrongCompletionEarnsZero()
    {
        VerificationResult result = Create().Verify(WrongCompletion, Gold);

        Assert.Equal(VerificationReason.WrongAnswer, result.Reason);
        Assert.Equal(0.0, result.Reward);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t ")]
    [InlineData(null)]
    public void EmptyCompletionIsNoAnswer(string? completion)
    {
        VerificationResult result = Create().Verify(completion!, Gold);

        Assert.Equal(new VerificationResult(0.0, VerificationReason.NoAnswer), result);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData(null)]
    public void MissingGoldIsBadInput(string? gold)
    {
        VerificationResult result = Create().Verify(CorrectCompletion, gold!);

        Assert.Equal(new VerificationResult(0.0, VerificationReason.BadInput), result);
    }

    [Fact]
    public void OneMegabyteCompletionIsTooLarge()
    {
        string completion = new string('7', 1 << 20) + CorrectCompletion;

        VerificationResult result = Create().Verify(completion, Gold);

        Assert.Equal(new VerificationResult(0.0, VerificationReason.TooLarge), result);
    }

    [Theory]
    [InlineData("\0\u0001\u0002PK\u0003\u0004")]
    [InlineData("\u001b[31m")]
    [InlineData("\uFFFD\uFFFD")]
    [InlineData("\u007F")]
    public void BinaryCompletionIsBinary(string noise)
    {
        VerificationResult result = Create().Verify(CorrectCompletion + noise, Gold);

        Assert.Equal(new VerificationResult(0.0, VerificationReason.Binary), result);
    }

    [Theory]
    [InlineData('{', '}')]
    [InlineData('(', ')')]
    [InlineData('[', ']')]
    public void DeeplyNestedCompletionGetsAVerdictNotAnException(char open, char close)
    {
        const int Depth = 50_000;
        string completion = "\\boxed" + new string(open, Depth) + "1" + new string(close, Depth) + "\n#### " + new string(open, Depth);

        VerificationResult result = Create().Verify(completion, Gold);

        Assert.Equal(0.0, result.Reward);
        Assert.Contains(result.ReasonCode, s_knownCodes);
    }

    [Theory]
    [MemberData(nameof(AdversarialCompletions))]
    public void AdversarialCompletionGetsAVerdictNotAnException(string completion)
    {
        VerificationResult result = Create().Verify(completion, Gold);

        Assert.Contains(result.ReasonCode, s_knownCodes);
        Assert.Equal(result.IsCorrect ? 1.0 : 0.0, result.Reward);
    }

    [Fact]
    public void AnyStringGetsAConsistentVerdict()
    {
        IVerifier verifier = Create();
        Gen<char> interesting = Gen.Elements("0123456789-+.,$%#{}()[]\\/ e^\nboxedfracThe answer is".ToCharArray());
        Arbitrary<string> completions = Gen.ArrayOf(interesting).Select(chars => new string(chars)).ToArbitrary();

        Prop.ForAll(completions, completion =>
        {
            VerificationResult first = verifier.Verify(completion, Gold);
            VerificationResult second = verifier.Verify(completion, Gold);
            return first == second
                && s_knownCodes.Contains(first.ReasonCode)
                && first.Reward == (first.IsCorrect ? 1.0 : 0.0);
        }).CheckFixed(seed: 107, maxTest: 300);
    }

    [Fact]
    public void ClockPastTheLimitGivesTimeout()
    {
        var clock = new SteppingTimeProvider(TimeSpan.FromMilliseconds(150));
        IVerifier verifier = Create(new VerifierOptions { TimeProvider = clock, TimeLimit = TimeSpan.FromMilliseconds(100) });

        VerificationResult result = verifier.Verify(CorrectCompletion, Gold);

        Assert.Equal(new VerificationResult(0.0, VerificationReason.Timeout), result);
        Assert.True(clock.Reads >= 2);
    }

    [Fact]
    public void ClockWithinTheLimitGivesTheVerdict()
    {
        var clock = new SteppingTimeProvider(TimeSpan.FromMilliseconds(1));
        IVerifier verifier = Create(new VerifierOptions { TimeProvider = clock, TimeLimit = TimeSpan.FromMilliseconds(100) });

        VerificationResult result = verifier.Verify(CorrectCompletion, Gold);

        Assert.Equal(VerificationReason.Correct, result.Reason);
    }

    [Fact]
    public void DefaultRegistryServesThisVerifierByName()
    {
        IVerifier verifier = Create();

        IVerifier registered = VerifierRegistry.CreateDefault(TestClock.FrozenOptions).Get(verifier.Name);

        Assert.Equal(verifier.GetType(), registered.GetType());
        Assert.Equal(verifier.Verify(CorrectCompletion, Gold), registered.Verify(CorrectCompletion, Gold));
    }
}

public sealed class ExactNumericVerifierContractTests : VerifierContractTests
{
    protected override string CorrectCompletion => "95";

    protected override string WrongCompletion => "96";

    protected override string Gold => "95";

    protected override IVerifier Create(VerifierOptions? options = null) => new ExactNumericVerifier(options ?? TestClock.FrozenOptions);
}

public sealed class Gsm8kVerifierContractTests : VerifierContractTests
{
    protected override string CorrectCompletion =>
        "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day at the farmer's market.\n#### 18";

    protected override string WrongCompletion =>
        "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 3 = $27 every day.\n#### 27";

    protected override string Gold => "18";

    protected override IVerifier Create(VerifierOptions? options = null) => new Gsm8kVerifier(options ?? TestClock.FrozenOptions);
}

public sealed class Gsm8kLastNumberVerifierContractTests : VerifierContractTests
{
    protected override string CorrectCompletion => "She sells 9 eggs at $2 each, so she makes 9 * 2 = 18";

    protected override string WrongCompletion => "She sells 9 eggs at $2 each, so she makes 9 * 2 = 19";

    protected override string Gold => "18";

    protected override IVerifier Create(VerifierOptions? options = null) => new Gsm8kVerifier(options ?? TestClock.FrozenOptions, lastNumberFallback: true);
}

public sealed class BoxedMathVerifierContractTests : VerifierContractTests
{
    protected override string CorrectCompletion => "Adding the fractions, $\\frac{1}{2} + \\frac{1}{4} = \\boxed{\\dfrac{3}{4}}$.";

    protected override string WrongCompletion => "Adding the fractions, $\\frac{1}{2} + \\frac{1}{4} = \\boxed{\\frac{2}{6}}$.";

    protected override string Gold => "\\frac34";

    protected override IVerifier Create(VerifierOptions? options = null) => new BoxedMathVerifier(options ?? TestClock.FrozenOptions);
}

public sealed class CountdownVerifierContractTests : VerifierContractTests
{
    protected override string CorrectCompletion => "3+(25-7)*4";

    protected override string WrongCompletion => "(25-7)*4-3";

    protected override string Gold => "(25-7)*4+3";

    protected override IVerifier Create(VerifierOptions? options = null) => new CountdownVerifier(options ?? TestClock.FrozenOptions);
}
