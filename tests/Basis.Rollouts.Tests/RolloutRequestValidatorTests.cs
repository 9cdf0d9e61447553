namespace Basis.Rollouts.Tests;

public sealed class RolloutRequestValidatorTests
{
    public static TheoryData<string, string> InvalidRequests => new()
    {
        { "n", "N must be at least 1 (got 0)" },
        { "temperature", "Sampling.Temperature must be finite and >= 0 (got -0.1)" },
        { "temperature-nan", "Sampling.Temperature must be finite and >= 0 (got NaN)" },
        { "top-p", "Sampling.TopP must be in (0, 1] (got 0)" },
        { "top-k", "Sampling.TopK must be at least 1 or null (got 0)" },
        { "max-tokens", "Sampling.MaxTokens must be at least 1 (got 0)" },
        { "stop", "Sampling.Stop must be a list of non-empty strings" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public void RejectsAnInvalidFieldNamingPromptAndField(string field, string expected)
    {
        SamplingSettings valid = SamplingSettings.Default;
        RolloutRequest request = field switch
        {
            "n" => new RolloutRequest("q-42", "prompt", 0, valid),
            "temperature" => new RolloutRequest("q-42", "prompt", 1, valid with { Temperature = -0.1 }),
            "temperature-nan" => new RolloutRequest("q-42", "prompt", 1, valid with { Temperature = double.NaN }),
            "top-p" => new RolloutRequest("q-42", "prompt", 1, valid with { TopP = 0 }),
            "top-k" => new RolloutRequest("q-42", "prompt", 1, valid with { TopK = 0 }),
            "max-tokens" => new RolloutRequest("q-42", "prompt", 1, valid with { MaxTokens = 0 }),
            "stop" => new RolloutRequest("q-42", "prompt", 1, valid with { Stop = ["###", ""] }),
            _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
        };

        ArgumentException error = Assert.Throws<ArgumentException>(() => RolloutRequestValidator.Validate(request));

        Assert.Contains("'q-42'", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void AcceptsTheDefaults() =>
        RolloutRequestValidator.Validate([new RolloutRequest("q-1", string.Empty, 1, SamplingSettings.Default)]);

    [Fact]
    public void RejectsAMissingPromptId()
    {
        ArgumentException error = Assert.Throws<ArgumentException>(
            () => RolloutRequestValidator.Validate(new RolloutRequest("", "prompt", 1, SamplingSettings.Default)));

        Assert.Contains("PromptId", error.Message);
    }
}
