using Basis.Tasks.Verification;

namespace Basis.Tasks.Tests.Verification;

public sealed class Gsm8kVerifierTests
{
    private readonly Gsm8kVerifier _strict = new(TestClock.FrozenOptions);
    private readonly Gsm8kVerifier _lastNumber = new(TestClock.FrozenOptions, lastNumberFallback: true);

    [Theory]
    [InlineData("So 9 * 2 = 18.\n#### 18", "18")]
    [InlineData("####18", "18")]
    [InlineData("#### $18", "18")]
    [InlineData("#### 18 dollars.", "18")]
    [InlineData("#### 1,234,567", "1234567")]
    [InlineData("#### 1234567", "1,234,567")]
    [InlineData("#### -5", "-5")]
    [InlineData("#### -$5", "-5")]
    [InlineData("#### 2.50", "2.5")]
    [InlineData("#### .5", "0.5")]
    [InlineData("#### 50%", "50")]
    [InlineData("first #### 7\nthen #### 18", "18")]
    [InlineData("The answer is 18.", "18")]
    [InlineData("the final ANSWER IS: $1,200.", "1200")]
    [InlineData("The answer is **18**", "18")]
    public void ReadsTheFinalAnswer(string completion, string gold)
    {
        Assert.Equal(VerificationReason.Correct, _strict.Verify(completion, gold).Reason);
    }

    [Fact]
    public void ExtractedIsTheNumberWithItsSign()
    {
        Assert.Equal(VerificationResult.Correct("-1,200.50"), _strict.Verify("#### -$1,200.50 total", "-1200.5"));
    }

    [Fact]
    public void MarkerWinsOverAnswerIsPhrase()
    {
        Assert.Equal(VerificationReason.WrongAnswer, _strict.Verify("The answer is 18.\n#### 17", "18").Reason);
    }

    [Fact]
    public void GoldMayBeAFullGsm8kAnswer()
    {
        Assert.Equal(VerificationReason.Correct, _strict.Verify("#### 1000", "5 * 200 = <<5*200=1000>>1000\n#### 1,000").Reason);
    }

    [Theory]
    [InlineData("#### 1,23", "1")]
    [InlineData("#### 12,3456", "12")]
    [InlineData("#### 3-5", "3")]
    public void MalformedSeparatorsAndRangesTakeTheLeadingNumber(string completion, string extracted)
    {
        Assert.Equal(extracted, _strict.Verify(completion, "999").Extracted);
    }

    [Fact]
    public void WithoutMarkerStrictModeFindsNoAnswer()
    {
        VerificationResult result = _strict.Verify("9 * 2 = 18", "18");

        Assert.Equal(VerificationReason.NoAnswer, result.Reason);
    }

    [Fact]
    public void MarkerWithoutNumberIsNoAnswerEvenWithFallback()
    {
        Assert.Equal(VerificationReason.NoAnswer, _lastNumber.Verify("9 * 2 = 18\n#### eighteen", "18").Reason);
    }

    [Theory]
    [InlineData("9 * 2 = 18", "18", VerificationReason.Correct)]
    [InlineData("9 * 2 = 18 dollars, not 20.", "18", VerificationReason.WrongAnswer)]
    [InlineData("a loss of -$3", "-3", VerificationReason.Correct)]
    [InlineData("no digits here", "3", VerificationReason.NoAnswer)]
    public void LastNumberFallbackTakesTheLastNumber(string completion, string gold, VerificationReason expected)
    {
        Assert.Equal(expected, _lastNumber.Verify(completion, gold).Reason);
    }

    [Fact]
    public void ComparesExactlyNotWithinTolerance()
    {
        Assert.Equal(VerificationReason.WrongAnswer, _strict.Verify("#### 1000000.0001", "1000000").Reason);
    }

    [Fact]
    public void OverlongNumberIsTooLarge()
    {
        Assert.Equal(VerificationReason.TooLarge, _strict.Verify("#### " + new string('1', 65), "1").Reason);
    }

    [Fact]
    public void LastNumberScanChecksTheClockInsideTheLoop()
    {
        // 100k tokens: the scan reads the clock every 256 steps, 1 ms per read, so it passes 100 ms mid-scan.
        var clock = new SteppingTimeProvider(TimeSpan.FromMilliseconds(1));
        var verifier = new Gsm8kVerifier(new VerifierOptions { TimeProvider = clock }, lastNumberFallback: true);
        string completion = string.Concat(Enumerable.Repeat("1 ", 100_000));

        Assert.Equal(VerificationReason.Timeout, verifier.Verify(completion, "1").Reason);
        Assert.InRange(clock.Reads, 101, 200);
    }
}
