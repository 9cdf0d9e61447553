using Basis.Rollouts.OpenAi;

namespace Basis.Rollouts.Tests;

public sealed class ScriptedRolloutBackendContractTests : RolloutBackendContract
{
    protected override Task<BackendUnderTest> CreateBackendAsync() =>
        Task.FromResult(new BackendUnderTest(new ScriptedRolloutBackend(), _ => Task.CompletedTask));

    protected override Task<BackendUnderTest> CreateStalledBackendAsync()
    {
        // The latency is spent on a clock nobody advances.
        var time = new ManualTimeProvider();
        var backend = new ScriptedRolloutBackend(TimeSpan.FromSeconds(10), time);
        return Task.FromResult(new BackendUnderTest(backend, ct => time.WaitForTimerAsync(TimeSpan.FromSeconds(10), ct)));
    }
}

public sealed class OpenAiCompletionsBackendContractTests : RolloutBackendContract
{
    private readonly List<OpenAiCompletionsBackend> _backends = [];
    private FakeOpenAiServer? _server;

    private FakeOpenAiServer Server => _server ?? throw new InvalidOperationException("The server starts in InitializeAsync.");

    public override async ValueTask InitializeAsync() => _server = await FakeOpenAiServer.StartAsync(TestCancellation);

    public override async ValueTask DisposeAsync()
    {
        _backends.ForEach(b => b.Dispose());
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    protected override Task<BackendUnderTest> CreateBackendAsync() =>
        Task.FromResult(new BackendUnderTest(Create(), _ => Task.CompletedTask));

    protected override Task<BackendUnderTest> CreateStalledBackendAsync()
    {
        var never = new TaskCompletionSource();
        Server.Responder = _ => FakeReply.Held(never.Task);
        return Task.FromResult(new BackendUnderTest(Create(), ct => Server.WaitUntilAsync(s => s.InFlight > 0, ct)));
    }

    private OpenAiCompletionsBackend Create()
    {
        var backend = new OpenAiCompletionsBackend(new OpenAiCompletionsOptions(Server.Endpoint, "fake-model") { MaxInFlight = 4, MaxRetries = 0 });
        _backends.Add(backend);
        return backend;
    }
}
