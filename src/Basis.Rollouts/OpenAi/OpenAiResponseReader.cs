using System.Text;
using System.Text.Json;

namespace Basis.Rollouts.OpenAi;

/// <summary>Turns a completions response body into checked completions, or says exactly what is wrong with it.</summary>
internal static class OpenAiResponseReader
{
    private const int SnippetLength = 200;

    /// <exception cref="MalformedResponseException">The body is not a valid answer to <paramref name="request"/>.</exception>
    public static (string? Model, RolloutCompletion[] Completions) Read(ReadOnlySpan<byte> body, RolloutRequest request)
    {
        CompletionResponseBody? response;
        try
        {
            response = JsonSerializer.Deserialize(body, OpenAiJsonContext.Default.CompletionResponseBody);
        }
        catch (JsonException ex)
        {
            throw new MalformedResponseException($"response is not valid completions JSON ({ex.Message}); body starts with: {Snippet(body)}");
        }

        if (response?.Choices is null)
        {
            throw new MalformedResponseException($"response has no 'choices' array; body starts with: {Snippet(body)}");
        }

        List<CompletionChoice?> choices = response.Choices;
        if (choices.Count != request.N)
        {
            throw new MalformedResponseException($"asked for n={request.N} completions but 'choices' has {choices.Count}");
        }

        // n choices with distinct in-range indices fill every slot.
        var completions = new RolloutCompletion[request.N];
        var seen = new bool[request.N];
        for (int i = 0; i < choices.Count; i++)
        {
            CompletionChoice choice = choices[i] ?? throw new MalformedResponseException($"choices[{i}] is null");
            int index = choice.Index ?? throw new MalformedResponseException($"choices[{i}] has no 'index'");
            if (index < 0 || index >= request.N || seen[index])
            {
                throw new MalformedResponseException($"choices[{i}] has index {index}, which is out of range or repeated for n={request.N}");
            }

            seen[index] = true;
            completions[index] = ReadChoice(choice, i, request.Sampling.Logprobs, request.Sampling.MaxTokens);
        }

        return (response.Model, completions);
    }

    private static RolloutCompletion ReadChoice(CompletionChoice choice, int i, bool logprobsAsked, int maxTokens)
    {
        string text = choice.Text ?? throw new MalformedResponseException($"choices[{i}] has no 'text'");
        FinishReason finishReason = choice.FinishReason switch
        {
            null => throw new MalformedResponseException($"choices[{i}] has no 'finish_reason'"),
            "stop" => FinishReason.Stop,
            "length" => FinishReason.Length,
            _ => FinishReason.Other,
        };

        if (!logprobsAsked)
        {
            return new RolloutCompletion(text, [], [], finishReason);
        }

        CompletionLogprobs logprobs = choice.Logprobs
            ?? throw new MalformedResponseException($"choices[{i}] has no 'logprobs' although logprobs were requested");
        List<string?> tokens = logprobs.Tokens
            ?? throw new MalformedResponseException($"choices[{i}].logprobs has no 'tokens'");
        List<double?> tokenLogprobs = logprobs.TokenLogprobs
            ?? throw new MalformedResponseException($"choices[{i}].logprobs has no 'token_logprobs'");
        // The contract promises callers at most MaxTokens tokens; a server that sends more did not honour max_tokens.
        if (tokens.Count > maxTokens)
        {
            throw new MalformedResponseException($"choices[{i}] has {tokens.Count} tokens but max_tokens was {maxTokens}");
        }

        if (tokens.Count != tokenLogprobs.Count)
        {
            throw new MalformedResponseException(
                $"choices[{i}].logprobs has {tokens.Count} tokens but {tokenLogprobs.Count} token_logprobs");
        }

        var tokenTexts = new string[tokens.Count];
        var values = new double[tokens.Count];
        for (int t = 0; t < tokens.Count; t++)
        {
            tokenTexts[t] = tokens[t] ?? throw new MalformedResponseException($"choices[{i}].logprobs.tokens[{t}] is null");
            double value = tokenLogprobs[t] ?? throw new MalformedResponseException($"choices[{i}].logprobs.token_logprobs[{t}] is null");
            if (double.IsNaN(value))
            {
                throw new MalformedResponseException($"choices[{i}].logprobs.token_logprobs[{t}] is NaN");
            }

            values[t] = value;
        }

        return new RolloutCompletion(text, tokenTexts, values, finishReason);
    }

    public static string Snippet(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return "(empty body)";
        }

        string text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, SnippetLength * 4)]);
        text = text.ReplaceLineEndings(" ");
        return text.Length <= SnippetLength ? $"'{text}'" : $"'{text[..SnippetLength]}...'";
    }
}

/// <summary>A response body that does not answer the request; the message says what is wrong.</summary>
internal sealed class MalformedResponseException(string problem) : Exception(problem);
