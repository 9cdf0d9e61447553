using Basis.Tasks.Verification;

namespace Basis.Tasks.Tests.Verification;

public sealed class CountdownVerifierTests
{
    private const string Gold = "(25-7)*4+3";

    private readonly CountdownVerifier _verifier = new(TestClock.FrozenOptions);

    [Theory]
    [InlineData("(25-7)*4+3")]
    [InlineData(" 3 + 4 * (25 - 7) ")]
    [InlineData("(25-7)\u00D74+3\nthat makes 75")]
    [InlineData("25*3")]
    [InlineData("(25*(7-4))")]
    public void AnyExpressionOverTheGivenNumbersReachingTheTargetIsCorrect(string completion)
    {
        Assert.Equal(VerificationReason.Correct, _verifier.Verify(completion, Gold).Reason);
    }

    [Theory]
    [InlineData("75", VerificationReason.WrongAnswer)]
    [InlineData("7*25/7*3", VerificationReason.WrongAnswer)]
    [InlineData("25*3+0", VerificationReason.WrongAnswer)]
    [InlineData("(25-7)*4+4", VerificationReason.WrongAnswer)]
    [InlineData("25/4*3", VerificationReason.WrongAnswer)]
    [InlineData("25/(7-7)", VerificationReason.WrongAnswer)]
    [InlineData("the answer is 75", VerificationReason.NoAnswer)]
    [InlineData("(25-7*4+3", VerificationReason.NoAnswer)]
    [InlineData("25 3", VerificationReason.NoAnswer)]
    [InlineData("-25+100", VerificationReason.NoAnswer)]
    [InlineData("1+2+3+4+5+6+7+8+9", VerificationReason.TooLarge)]
    [InlineData("9999999999*3", VerificationReason.TooLarge)]
    public void InvalidSolutionsGetTheirReason(string completion, VerificationReason expected)
    {
        Assert.Equal(expected, _verifier.Verify(completion, Gold).Reason);
    }

    [Fact]
    public void OverflowIsTooLargeNotAnException()
    {
        Assert.Equal(VerificationReason.TooLarge, _verifier.Verify("999999999*999999999*999999999", "3*4").Reason);
    }

    [Fact]
    public void GoldThatIsNotAnExpressionIsBadInput()
    {
        Assert.Equal(VerificationReason.BadInput, _verifier.Verify("3+4", "seven").Reason);
    }
}
