using System.Text.Json.Serialization;

namespace Basis.Rollouts.OpenAi;

/// <summary>The body of <c>POST /v1/completions</c>. Null members are left out, so servers use their defaults.</summary>
internal sealed class CompletionRequestBody
{
    public required string Model { get; init; }

    public required string Prompt { get; init; }

    public int N { get; init; }

    public int MaxTokens { get; init; }

    public double Temperature { get; init; }

    public double TopP { get; init; }

    /// <summary>Not in OpenAI's API; vLLM and SGLang accept it.</summary>
    public int? TopK { get; init; }

    public IReadOnlyList<string>? Stop { get; init; }

    public long? Seed { get; init; }

    /// <summary>1 = the sampled token's log-probability plus the single most likely alternative.</summary>
    public int? Logprobs { get; init; }
}

// Response members are all nullable: OpenAiResponseReader checks them and names what is missing.
internal sealed class CompletionResponseBody
{
    public string? Model { get; set; }

    public List<CompletionChoice?>? Choices { get; set; }
}

internal sealed class CompletionChoice
{
    public int? Index { get; set; }

    public string? Text { get; set; }

    public string? FinishReason { get; set; }

    public CompletionLogprobs? Logprobs { get; set; }
}

internal sealed class CompletionLogprobs
{
    public List<string?>? Tokens { get; set; }

    public List<double?>? TokenLogprobs { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    // Some servers write -Infinity for impossible tokens; accept it and let the reader decide.
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(CompletionRequestBody))]
[JsonSerializable(typeof(CompletionResponseBody))]
internal sealed partial class OpenAiJsonContext : JsonSerializerContext;
