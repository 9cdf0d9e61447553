namespace Basis.Rollouts.Tests;

/// <summary>A backend under test, and how to tell that a call to a stalled one is under way.</summary>
public sealed record BackendUnderTest(IRolloutBackend Backend, Func<CancellationToken, Task> WaitUntilBusyAsync);

/// <summary>
/// The behaviour every <see cref="IRolloutBackend"/> promises. Each implementation derives a test class from this one.
/// </summary>
public abstract class RolloutBackendContract : IAsyncLifetime
{
    private static readonly SamplingSettings s_seeded = new() { Seed = 1234, Temperature = 0.8, MaxTokens = 16 };

    protected static CancellationToken TestCancellation => TestContext.Current.CancellationToken;

    /// <summary>A backend that answers promptly.</summary>
    protected abstract Task<BackendUnderTest> CreateBackendAsync();

    /// <summary>A backend whose calls do not finish until cancelled; WaitUntilBusyAsync completes once one has started.</summary>
    protected abstract Task<BackendUnderTest> CreateStalledBackendAsync();

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    [Fact(Timeout = 20_000)]
    public async Task ReturnsOneResultPerRequestInRequestOrderWithNCompletionsEach()
    {
        IRolloutBackend backend = (await CreateBackendAsync()).Backend;
        RolloutRequest[] requests = [.. Enumerable.Range(0, 6).Select(i => new RolloutRequest($"p{i}", $"What is {i} + {i}?", 1 + (i % 4), s_seeded))];

        IReadOnlyList<RolloutResult> results = await backend.GenerateAsync(requests, TestCancellation);

        Assert.Equal(requests.Select(r => r.PromptId), results.Select(r => r.PromptId));
        Assert.Equal(requests.Select(r => r.N), results.Select(r => r.Completions.Count));
        Assert.All(results, r => Assert.False(string.IsNullOrEmpty(r.PolicyVersion)));
    }

    [Fact(Timeout = 20_000)]
    public async Task EveryCompletionHasOneFiniteLogprobPerToken()
    {
        IRolloutBackend backend = (await CreateBackendAsync()).Backend;
        RolloutRequest[] requests = [.. Enumerable.Range(0, 4).Select(i => new RolloutRequest($"p{i}", $"prompt {i}", 3, s_seeded))];

        IReadOnlyList<RolloutResult> results = await backend.GenerateAsync(requests, TestCancellation);

        Assert.All(results.SelectMany(r => r.Completions), c =>
        {
            Assert.NotEmpty(c.Tokens);
            Assert.Equal(c.Tokens.Count, c.Logprobs.Count);
            Assert.All(c.Logprobs, lp => Assert.True(double.IsFinite(lp), $"logprob {lp} is not finite"));
        });
    }

    [Fact(Timeout = 20_000)]
    public async Task NeverReturnsMoreThanMaxTokens()
    {
        IRolloutBackend backend = (await CreateBackendAsync()).Backend;
        var sampling = s_seeded with { MaxTokens = 2 };
        RolloutRequest[] requests = [.. Enumerable.Range(0, 8).Select(i => new RolloutRequest($"p{i}", $"prompt {i}", 4, sampling))];

        IReadOnlyList<RolloutResult> results = await backend.GenerateAsync(requests, TestCancellation);

        RolloutCompletion[] completions = [.. results.SelectMany(r => r.Completions)];
        Assert.All(completions, c => Assert.InRange(c.Tokens.Count, 1, 2));
        Assert.All(completions.Where(c => c.Tokens.Count < 2), c => Assert.Equal(FinishReason.Stop, c.FinishReason));
    }

    [Fact(Timeout = 20_000)]
    public async Task WithoutLogprobsCompletionsCarryNoTokens()
    {
        IRolloutBackend backend = (await CreateBackendAsync()).Backend;
        RolloutRequest request = new("p0", "prompt", 2, s_seeded with { Logprobs = false });

        IReadOnlyList<RolloutResult> results = await backend.GenerateAsync([request], TestCancellation);

        Assert.All(results[0].Completions, c =>
        {
            Assert.NotEmpty(c.Text);
            Assert.Empty(c.Tokens);
            Assert.Empty(c.Logprobs);
        });
    }

    [Fact(Timeout = 20_000)]
    public async Task TheSameSeedGivesTheSameCompletions()
    {
        IRolloutBackend backend = (await CreateBackendAsync()).Backend;
        RolloutRequest[] requests = [.. Enumerable.Range(0, 5).Select(i => new RolloutRequest($"p{i}", $"prompt {i}", 3, s_seeded))];

        IReadOnlyList<RolloutResult> first = await backend.GenerateAsync(requests, TestCancellation);
        IReadOnlyList<RolloutResult> second = await backend.GenerateAsync(requests, TestCancellation);

        Assert.Equal(Describe(first), Describe(second));
    }

    [Fact(Timeout = 20_000)]
    public async Task AnEmptyBatchGivesAnEmptyResult()
    {
        IRolloutBackend backend = (await CreateBackendAsync()).Backend;

        Assert.Empty(await backend.GenerateAsync([], TestCancellation));
    }

    [Fact(Timeout = 20_000)]
    public async Task RejectsAnInvalidRequestNamingItsPrompt()
    {
        IRolloutBackend backend = (await CreateBackendAsync()).Backend;
        RolloutRequest[] requests = [new("good", "prompt", 1, s_seeded), new("bad-one", "prompt", 0, s_seeded)];

        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(() => backend.GenerateAsync(requests, TestCancellation));

        Assert.Contains("bad-one", error.Message);
        Assert.Contains("N must be at least 1", error.Message);
    }

    [Fact(Timeout = 20_000)]
    public async Task AnAlreadyCancelledTokenCancelsTheCall()
    {
        IRolloutBackend backend = (await CreateBackendAsync()).Backend;
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => backend.GenerateAsync([new RolloutRequest("p0", "prompt", 1, s_seeded)], cancellation.Token));
    }

    [Fact(Timeout = 20_000)]
    public async Task CancellingDuringGenerationCancelsTheCall()
    {
        BackendUnderTest stalled = await CreateStalledBackendAsync();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestCancellation);
        Task<IReadOnlyList<RolloutResult>> call = stalled.Backend.GenerateAsync([new RolloutRequest("p0", "prompt", 2, s_seeded)], cancellation.Token);
        await stalled.WaitUntilBusyAsync(TestCancellation);
        Assert.False(call.IsCompleted);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    internal static string[] Describe(IEnumerable<RolloutResult> results) =>
        [.. results.SelectMany(r => r.Completions.Select((c, i) =>
            $"{r.PromptId}#{i} [{c.FinishReason}] '{c.Text}' = {string.Join("|", c.Tokens)} @ {string.Join(",", c.Logprobs.Select(lp => lp.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}"))];
}
