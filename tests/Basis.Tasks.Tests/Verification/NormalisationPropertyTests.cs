using System.Globalization;
using Basis.Tasks.Verification;
using FsCheck;
using FsCheck.Fluent;

namespace Basis.Tasks.Tests.Verification;

/// <summary>Properties over random numbers: every written form of a value verifies against every other.</summary>
public sealed class NormalisationPropertyTests
{
    private readonly Gsm8kVerifier _gsm8k = new(TestClock.FrozenOptions);
    private readonly BoxedMathVerifier _boxed = new(TestClock.FrozenOptions);

    [Fact]
    public void Gsm8kAcceptsAnyFormattingOfTheGold()
    {
        Arbitrary<long> values = Gen.Choose(-2_000_000_000, 2_000_000_000).Select(x => (long)x * 1009).ToArbitrary();

        Prop.ForAll(values, value =>
        {
            string gold = value.ToString(CultureInfo.InvariantCulture);
            string separated = Math.Abs(value).ToString("N0", CultureInfo.InvariantCulture);
            string sign = value < 0 ? "-" : string.Empty;
            return _gsm8k.Verify($"Work.\n#### {sign}${separated}.", gold).IsCorrect
                && _gsm8k.Verify($"So the answer is {sign}{separated} dollars.", gold).IsCorrect
                && !_gsm8k.Verify($"#### {sign}{separated}1", gold).IsCorrect;
        }).CheckFixed(seed: 101);
    }

    [Fact]
    public void BoxedFractionEqualsItsDecimalAndItsMixedForm()
    {
        Arbitrary<(int, int)> fractions = Gen.Choose(-5000, 5000).SelectMany(_ => Gen.Choose(1, 999), (p, q) => (p, q)).ToArbitrary();

        Prop.ForAll(fractions, fraction =>
        {
            (int p, int q) = fraction;
            string asDecimal = ((double)p / q).ToString("R", CultureInfo.InvariantCulture);
            int whole = Math.Abs(p) / q;
            int rest = Math.Abs(p) % q;
            string sign = p < 0 ? "-" : string.Empty;
            string mixed = whole > 0 && rest > 0 ? $"{sign}{whole}\\frac{{{rest}}}{{{q}}}" : asDecimal;
            return _boxed.Verify($"\\boxed{{\\dfrac{{{p}}}{{{q}}}}}", asDecimal).IsCorrect
                && _boxed.Verify($"\\boxed{{{mixed}}}", $"{p}/{q}").IsCorrect
                && !_boxed.Verify($"\\boxed{{\\frac{{{p}}}{{{q}}}}}", ((double)p / q + 1e-3 * Math.Max(1, Math.Abs((double)p / q))).ToString("R", CultureInfo.InvariantCulture)).IsCorrect;
        }).CheckFixed(seed: 103);
    }
}
