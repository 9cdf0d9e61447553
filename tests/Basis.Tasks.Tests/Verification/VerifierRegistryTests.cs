using Basis.Tasks.Verification;

namespace Basis.Tasks.Tests.Verification;

public sealed class VerifierRegistryTests
{
    [Fact]
    public void DefaultRegistryHoldsTheBuiltInVerifiers()
    {
        VerifierRegistry registry = VerifierRegistry.CreateDefault();

        Assert.Equal(["boxed", "countdown", "exact", "gsm8k", "gsm8k-last-number"], registry.Names.Order(StringComparer.Ordinal));
        Assert.IsType<ExactNumericVerifier>(registry.Get("exact"));
        Assert.IsType<BoxedMathVerifier>(registry.Get("boxed"));
        Assert.False(((Gsm8kVerifier)registry.Get("gsm8k")).LastNumberFallback);
        Assert.True(((Gsm8kVerifier)registry.Get("gsm8k-last-number")).LastNumberFallback);
    }

    [Fact]
    public void UnknownNameIsAClearError()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => VerifierRegistry.CreateDefault().Get("python"));

        Assert.Contains("'python'", error.Message);
        Assert.Contains("exact", error.Message);
        Assert.False(VerifierRegistry.CreateDefault().TryGet("python", out _));
    }

    [Fact]
    public void NamesAreUnique()
    {
        VerifierRegistry registry = VerifierRegistry.CreateDefault();

        Assert.Throws<ArgumentException>(() => registry.Register(new ExactNumericVerifier()));
    }

    [Fact]
    public void OptionsReachEveryVerifier()
    {
        VerifierRegistry registry = VerifierRegistry.CreateDefault(new VerifierOptions { MaxCompletionChars = 10 });

        foreach (string name in registry.Names)
        {
            Assert.Equal(VerificationReason.TooLarge, registry.Get(name).Verify(new string(' ', 5) + "12345678901", "1").Reason);
        }
    }

    [Fact]
    public void ReasonCodesAreKebabCase()
    {
        Assert.Equal(
            ["correct", "wrong-answer", "no-answer", "timeout", "too-large", "bad-input", "binary"],
            Enum.GetValues<VerificationReason>().Select(r => r.ToCode()));
    }
}
