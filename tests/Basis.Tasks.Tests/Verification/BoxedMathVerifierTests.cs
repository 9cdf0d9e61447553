using Basis.Tasks.Verification;

namespace Basis.Tasks.Tests.Verification;

public sealed class BoxedMathVerifierTests
{
    private readonly BoxedMathVerifier _verifier = new(TestClock.FrozenOptions);

    private VerificationReason Judge(string boxedContent, string gold) =>
        _verifier.Verify("so the result is $\\boxed{" + boxedContent + "}$.", gold).Reason;

    [Theory]
    [InlineData("\\boxed{5}", "5")]
    [InlineData("\\fbox{5}", "5")]
    [InlineData("\\boxed 5$", "5")]
    [InlineData("first \\boxed{4}, then \\boxed{5}", "5")]
    [InlineData("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{\\sqrt{2}}{2}")]
    [InlineData("\\boxed{\\{1, 2\\}}", "\\{1,2\\}")]
    public void ExtractsTheLastBoxWithNestedBraces(string completion, string gold)
    {
        Assert.Equal(VerificationReason.Correct, _verifier.Verify(completion, gold).Reason);
    }

    [Theory]
    [InlineData("1,000", "1000")]
    [InlineData("1{,}000", "1000")]
    [InlineData("1\\,000", "1000")]
    [InlineData("\\$18", "18")]
    [InlineData("$18.00", "18")]
    [InlineData("50\\%", "50")]
    [InlineData("50%", "50")]
    [InlineData("90^\\circ", "90")]
    [InlineData("90^{\\circ}", "90")]
    [InlineData("12 \\text{ cm}", "12")]
    [InlineData("12\\text{cm}", "12")]
    [InlineData("12 square meters", "12")]
    [InlineData("5.", "5")]
    [InlineData("\\frac{3}{4}", "0.75")]
    [InlineData("\\dfrac{3}{4}", "3/4")]
    [InlineData("\\tfrac{3}{4}", "\\frac{3}{4}")]
    [InlineData("\\frac34", "0.75")]
    [InlineData("-\\frac{1}{2}", "-0.5")]
    [InlineData("\\frac{-1}{2}", "-1/2")]
    [InlineData("3/4", "0.75")]
    [InlineData("3\\frac{1}{2}", "3.5")]
    [InlineData("3 1/2", "7/2")]
    [InlineData("-2\\frac12", "-2.5")]
    [InlineData("0.333333333", "\\frac{1}{3}")]
    [InlineData("-0.5", "-\\frac12")]
    [InlineData("\u22120.5", "-0.5")]
    [InlineData("1.5e3", "1500")]
    [InlineData("1.5E-3", "0.0015")]
    [InlineData("1.5 \\times 10^{3}", "1500")]
    [InlineData("1.5\\cdot10^3", "1500")]
    [InlineData("2\\times10^{-2}", "0.02")]
    [InlineData("\\left(3\\right)", "3")]
    [InlineData("{7}", "7")]
    [InlineData("\\displaystyle 7", "7")]
    public void NormalisesNumbers(string boxed, string gold)
    {
        Assert.Equal(VerificationReason.Correct, Judge(boxed, gold));
    }

    [Theory]
    [InlineData("\\left( 1, -2 \\right)", "(1,-2)")]
    [InlineData("(1, \\frac{1}{2})", "(1, 0.5)")]
    [InlineData("[0, 1)", "\\left[0,1\\right)")]
    [InlineData("(-\\infty, 3]", "(-\\infty,3]")]
    [InlineData("1, 2, 3", "1,2,3")]
    public void ComparesTuplesAndIntervalsElementWise(string boxed, string gold)
    {
        Assert.Equal(VerificationReason.Correct, Judge(boxed, gold));
    }

    [Theory]
    [InlineData("[0, 1)", "[0,1]")]
    [InlineData("(1, 2)", "(2, 1)")]
    [InlineData("(1, 2)", "(1, 2, 3)")]
    [InlineData("(-\\infty, 3]", "(\\infty,3]")]
    [InlineData("1,2", "(1,2)")]
    public void TupleShapeAndOrderMatter(string boxed, string gold)
    {
        Assert.Equal(VerificationReason.WrongAnswer, Judge(boxed, gold));
    }

    [Theory]
    [InlineData("1.000001", "1", VerificationReason.Correct)]
    [InlineData("1.00001", "1", VerificationReason.WrongAnswer)]
    [InlineData("1000000.5", "1000000", VerificationReason.Correct)]
    [InlineData("0", "0", VerificationReason.Correct)]
    [InlineData("0.0000001", "0", VerificationReason.WrongAnswer)]
    public void NumbersMatchWithinRelativeTolerance(string boxed, string gold, VerificationReason expected)
    {
        Assert.Equal(expected, Judge(boxed, gold));
    }

    [Theory]
    [InlineData("x + 1", "x+1", VerificationReason.Correct)]
    [InlineData("2\\sqrt{3}", "2 \\sqrt{3}", VerificationReason.Correct)]
    [InlineData("\\pi", "\\pi", VerificationReason.Correct)]
    [InlineData("5x", "5", VerificationReason.WrongAnswer)]
    [InlineData("5 x", "5 y", VerificationReason.WrongAnswer)]
    [InlineData("\\text{(B)}", "(B)", VerificationReason.Correct)]
    public void NonNumericAnswersCompareAsNormalisedText(string boxed, string gold, VerificationReason expected)
    {
        Assert.Equal(expected, Judge(boxed, gold));
    }

    [Theory]
    [InlineData("x = 5", "5", VerificationReason.Correct)]
    [InlineData("k=-\\frac{1}{2}", "-0.5", VerificationReason.Correct)]
    [InlineData("x = 5", "x=5", VerificationReason.Correct)]
    [InlineData("xy = 5", "5", VerificationReason.WrongAnswer)]
    [InlineData("x = y = 5", "5", VerificationReason.WrongAnswer)]
    public void SingleVariableAssignmentAnswersWithItsValue(string boxed, string gold, VerificationReason expected)
    {
        Assert.Equal(expected, Judge(boxed, gold));
    }

    [Fact]
    public void ExtractedIsTheBoxContent()
    {
        Assert.Equal("\\frac{1}{2}", _verifier.Verify("thus \\boxed{\\frac{1}{2}}.", "0.5").Extracted);
    }

    [Fact]
    public void GoldMayBeBoxed()
    {
        Assert.Equal(VerificationReason.Correct, Judge("0.5", "The answer is \\boxed{\\frac{1}{2}}."));
    }

    [Theory]
    [InlineData("No box here: 5", VerificationReason.NoAnswer)]
    [InlineData("\\boxed{}", VerificationReason.NoAnswer)]
    [InlineData("\\boxed{5", VerificationReason.NoAnswer)]
    [InlineData("\\boxed{ $ }", VerificationReason.NoAnswer)]
    public void MissingOrEmptyBoxIsNoAnswer(string completion, VerificationReason expected)
    {
        Assert.Equal(expected, _verifier.Verify(completion, "5").Reason);
    }

    [Fact]
    public void NestingBeyondTheLimitIsTooLarge()
    {
        string completion = "\\boxed{" + new string('{', 40) + "5" + new string('}', 41);

        Assert.Equal(VerificationReason.TooLarge, _verifier.Verify(completion, "5").Reason);
    }

    [Fact]
    public void NestingWithinTheLimitIsParsed()
    {
        string completion = "\\boxed{" + new string('{', 10) + "5" + new string('}', 11);

        Assert.Equal(VerificationReason.Correct, _verifier.Verify(completion, "5").Reason);
    }

    [Fact]
    public void DivisionByZeroIsNotANumber()
    {
        Assert.Equal(VerificationReason.WrongAnswer, Judge("\\frac{1}{0}", "1"));
    }

    [Fact]
    public void UnboxedGoldThatIsOnlyMarkupIsBadInput()
    {
        Assert.Equal(VerificationReason.BadInput, _verifier.Verify("\\boxed{5}", "$ $").Reason);
    }
}
