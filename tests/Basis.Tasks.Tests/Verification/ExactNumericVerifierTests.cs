using Basis.Tasks.Verification;

namespace Basis.Tasks.Tests.Verification;

public sealed class ExactNumericVerifierTests
{
    private readonly ExactNumericVerifier _verifier = new(TestClock.FrozenOptions);

    [Theory]
    [InlineData("95", "95")]
    [InlineData(" 95 ", "95")]
    [InlineData("95\n", "95")]
    [InlineData("95\n37+58=96", "95")]
    [InlineData("095", "95")]
    [InlineData("95.0", "95")]
    [InlineData("-12", "-12")]
    [InlineData("+7", "7")]
    [InlineData("0", "0")]
    public void AcceptsTheNumberOnTheFirstLine(string completion, string gold)
    {
        Assert.Equal(VerificationResult.Correct(completion.Split('\n')[0].Trim()), _verifier.Verify(completion, gold));
    }

    [Theory]
    [InlineData("96", "95")]
    [InlineData("-95", "95")]
    [InlineData("9.5", "95")]
    public void RejectsADifferentNumber(string completion, string gold)
    {
        Assert.Equal(VerificationReason.WrongAnswer, _verifier.Verify(completion, gold).Reason);
    }

    [Theory]
    [InlineData("95 apples")]
    [InlineData("the answer is 95")]
    [InlineData("9 5")]
    [InlineData("1,095")]
    [InlineData("9.5.1")]
    [InlineData("\n95")]
    [InlineData("1e2")]
    public void AnythingButAPlainNumberIsNoAnswer(string completion)
    {
        Assert.Equal(VerificationReason.NoAnswer, _verifier.Verify(completion, "95").Reason);
    }

    [Fact]
    public void OverlongNumberIsTooLarge()
    {
        Assert.Equal(VerificationReason.TooLarge, _verifier.Verify(new string('9', 65), "95").Reason);
        Assert.Equal(VerificationReason.TooLarge, _verifier.Verify(new string('9', 40), "95").Reason);
    }

    [Fact]
    public void NonNumericGoldIsBadInput()
    {
        Assert.Equal(VerificationReason.BadInput, _verifier.Verify("95", "ninety-five").Reason);
    }
}
