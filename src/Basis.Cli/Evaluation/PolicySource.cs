using System.CommandLine;
using System.Globalization;
using Basis.Cli.Commands;
using Basis.Model;
using Basis.Model.Checkpoints;
using Basis.Rollouts;
using Basis.Rollouts.OpenAi;
using Basis.Tasks;
using Basis.Tasks.Datasets;
using Basis.Tasks.Synthetic;
using Basis.Training.Policy;
using Basis.Training.Run;

namespace Basis.Cli.Evaluation;

/// <summary>A policy to sample from and the prompts to sample: a served model on a JSONL dataset, or the built-in policy.</summary>
internal sealed class PolicySource : IDisposable
{
    private PolicySource(IRolloutBackend backend, IReadOnlyList<TaskPrompt> prompts, SamplingSettings sampling, string template, string description, int promptsPerCall, int parallelCalls)
    {
        Backend = backend;
        Prompts = prompts;
        Sampling = sampling;
        Template = template;
        Description = description;
        PromptsPerCall = promptsPerCall;
        ParallelCalls = parallelCalls;
    }

    public IRolloutBackend Backend { get; }

    public IReadOnlyList<TaskPrompt> Prompts { get; }

    public SamplingSettings Sampling { get; }

    public string Template { get; }

    public string Description { get; }

    public int PromptsPerCall { get; }

    public int ParallelCalls { get; }

    public RewardSampler CreateSampler() =>
        new(Backend, Tasks.Verification.VerifierRegistry.CreateDefault(), Sampling, Template, PromptsPerCall, ParallelCalls);

    public void Dispose() => (Backend as IDisposable)?.Dispose();

    /// <exception cref="ArgumentException">A missing or bad option, file or checkpoint; the message names it.</exception>
    public static PolicySource Open(PolicyOptions.Values o)
    {
        switch (o.Backend)
        {
            case "openai":
                return OpenAi(o);
            case "builtin":
                return BuiltIn(o);
            default:
                throw new ArgumentException($"--backend must be openai or builtin (got '{o.Backend}').");
        }
    }

    private static PolicySource OpenAi(PolicyOptions.Values o)
    {
        if (string.IsNullOrWhiteSpace(o.Endpoint) || !Uri.TryCreate(o.Endpoint, UriKind.Absolute, out Uri? endpoint))
        {
            throw new ArgumentException($"--backend openai needs --endpoint URL, e.g. http://localhost:8000 (got '{o.Endpoint}').");
        }

        if (string.IsNullOrWhiteSpace(o.Model))
        {
            throw new ArgumentException("--backend openai needs --model NAME (the served model name; GET /v1/models lists it).");
        }

        if (o.Dataset is null)
        {
            throw new ArgumentException("--backend openai needs --dataset FILE.jsonl (fields \"question\" or \"prompt\", and \"answer\").");
        }

        IReadOnlyList<TaskPrompt> prompts = ReadDataset(o.Dataset, o.Verifier, o.Prompts);
        var options = new OpenAiCompletionsOptions(endpoint, o.Model)
        {
            MaxInFlight = o.MaxInFlight,
            RequestTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
            MaxRetries = o.Retries,
            ApiKey = string.IsNullOrEmpty(o.ApiKey) ? null : o.ApiKey,
        };
        var backend = new OpenAiCompletionsBackend(options);
        var sampling = new SamplingSettings
        {
            Temperature = o.Temperature,
            TopP = o.TopP,
            MaxTokens = o.MaxTokens ?? 512,
            Stop = o.Stop,
            Logprobs = false,
        };
        string description = $"{o.Model} at {endpoint.GetLeftPart(UriPartial.Authority)} on {o.Dataset.FullName} ({prompts.Count} prompts)";

        // Enough prompts per call to keep every in-flight slot busy, and two calls so one's tail overlaps the next.
        return new PolicySource(backend, prompts, sampling, o.Template, description, Math.Max(16, o.MaxInFlight), 2);
    }

    private static PolicySource BuiltIn(PolicyOptions.Values o)
    {
        if (o.Checkpoint is null)
        {
            throw new ArgumentException("--backend builtin needs --checkpoint FILE.safetensors (e.g. runs/local/checkpoints/final.safetensors).");
        }

        if (!o.Checkpoint.Exists)
        {
            throw new ArgumentException($"--checkpoint {o.Checkpoint.FullName}: no such file.");
        }

        TrainSettings settings = TrainSettingsLoader.Load(o.ConfigFiles.Length > 0 ? o.ConfigFiles : [TrainCommand.DefaultConfig]);
        TransformerModel model;
        using (FileStream stream = o.Checkpoint.OpenRead())
        {
            model = ModelCheckpoint.Load(stream, o.Checkpoint.FullName);
        }

        model.Threads = settings.Model.Threads > 0 ? settings.Model.Threads : Environment.ProcessorCount;
        IReadOnlyList<TaskPrompt> prompts;
        string split;
        if (o.Dataset is not null)
        {
            prompts = ReadDataset(o.Dataset, o.Verifier, o.Prompts);
            split = o.Dataset.FullName;
        }
        else
        {
            ArithmeticTaskSet tasks = TrainingRun.GenerateTasks(settings.Task);
            prompts = o.Prompts is int n ? tasks.Eval.Take(n).ToArray() : tasks.Eval;
            split = "the synthetic held-out split";
        }

        var sampling = new SamplingSettings
        {
            Temperature = o.Temperature,
            TopP = o.TopP,
            MaxTokens = o.MaxTokens ?? settings.Train.MaxNewTokens,
            Logprobs = false,
        };
        var backend = new BuiltInRolloutBackend(model, new PolicyText(TrainingRun.CreateTokenizer()), Path.GetFileName(o.Checkpoint.FullName));
        return new PolicySource(backend, prompts, sampling, o.Template, $"built-in policy {o.Checkpoint.FullName} on {split} ({prompts.Count} prompts)", 64, 1);
    }

    private static TaskPrompt[] ReadDataset(FileInfo dataset, string verifier, int? limit)
    {
        if (!dataset.Exists)
        {
            throw new ArgumentException($"--dataset {dataset.FullName}: no such file.");
        }

        IEnumerable<TaskPrompt> prompts = JsonlDataset.Read(dataset.FullName, new DatasetLoadOptions { Verifier = verifier });
        TaskPrompt[] loaded = limit is int n ? prompts.Take(n).ToArray() : prompts.ToArray();
        return loaded.Length > 0 ? loaded : throw new ArgumentException($"--dataset {dataset.FullName}: no prompts in the file.");
    }
}

/// <summary>The options <c>basis eval</c> and <c>basis mse-bench</c> share to name a policy and a dataset.</summary>
internal sealed class PolicyOptions
{
    private readonly Option<string> _backend;
    private readonly Option<string?> _endpoint = new("--endpoint") { Description = "OpenAI-compatible server, e.g. http://localhost:8000 (vLLM, SGLang)." };
    private readonly Option<string?> _model = new("--model") { Description = "Served model name (GET /v1/models lists it)." };
    // No DefaultValueFactory: help would print the key from the environment as the default.
    private readonly Option<string?> _apiKey = new("--api-key") { Description = "Bearer key for the server. Default: env OPENAI_API_KEY." };
    private readonly Option<int> _maxInFlight = new("--max-in-flight") { Description = "Most HTTP requests outstanding at once.", DefaultValueFactory = _ => 32 };
    private readonly Option<double> _timeout = new("--timeout") { Description = "Seconds one request attempt may take.", DefaultValueFactory = _ => 300 };
    private readonly Option<int> _retries = new("--retries") { Description = "Retries after a 429, 5xx, timeout or connection failure.", DefaultValueFactory = _ => 4 };
    private readonly Option<FileInfo?> _dataset = new("--dataset") { Description = "JSONL prompts with \"question\" (or \"prompt\") and \"answer\", e.g. GSM8K's test.jsonl." };
    private readonly Option<string> _verifier = new("--verifier") { Description = "Verifier for the dataset: gsm8k (answer after ####), gsm8k-last-number (or else the last number), exact, boxed.", DefaultValueFactory = _ => "gsm8k" };
    private readonly Option<string> _template = new("--prompt-template") { Description = "Text sent to the model; {prompt} is replaced by the dataset's question.", DefaultValueFactory = _ => "{prompt}" };
    private readonly Option<string[]> _stop = new("--stop") { Description = "Stop string (repeatable; openai only).", DefaultValueFactory = _ => [] };
    private readonly Option<FileInfo?> _checkpoint = new("--checkpoint") { Description = "Built-in policy checkpoint (.safetensors)." };
    private readonly Option<string[]> _config = new("--config") { Description = $"HOCON files for the built-in policy's task and settings (default {TrainCommand.DefaultConfig}).", DefaultValueFactory = _ => [] };
    private readonly Option<int?> _prompts = new("--prompts") { Description = "Use only the first N prompts." };
    private readonly Option<double> _temperature = new("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 1.0 };
    private readonly Option<double> _topP = new("--top-p") { Description = "Nucleus sampling mass (1 = off).", DefaultValueFactory = _ => 1.0 };
    private readonly Option<int?> _maxTokens = new("--max-tokens") { Description = "Completion length limit (default 512; built-in: basis.train.max-new-tokens)." };
    private readonly Option<ulong> _seed = new("--seed") { Description = "Seed of the sampled requests.", DefaultValueFactory = _ => 1 };

    public PolicyOptions(string defaultBackend, string backendDescription)
    {
        _backend = new Option<string>("--backend") { Description = backendDescription, DefaultValueFactory = _ => defaultBackend };
    }

    public Option<ulong> Seed => _seed;

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { _backend, _endpoint, _model, _apiKey, _maxInFlight, _timeout, _retries, _dataset, _verifier, _template, _stop, _checkpoint, _config, _prompts, _temperature, _topP, _maxTokens, _seed })
        {
            command.Options.Add(option);
        }
    }

    public Values Read(ParseResult result)
    {
        int? prompts = result.GetValue(_prompts);
        if (prompts is < 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--prompts must be at least 1 (got {prompts})."));
        }

        return new Values(
            result.GetValue(_backend)!.Trim().ToLowerInvariant(),
            result.GetValue(_endpoint),
            result.GetValue(_model),
            result.GetValue(_apiKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"),
            result.GetValue(_maxInFlight),
            result.GetValue(_timeout),
            result.GetValue(_retries),
            result.GetValue(_dataset),
            result.GetValue(_verifier)!,
            result.GetValue(_template)!,
            result.GetValue(_stop)!,
            result.GetValue(_checkpoint),
            result.GetValue(_config)!,
            prompts,
            result.GetValue(_temperature),
            result.GetValue(_topP),
            result.GetValue(_maxTokens),
            result.GetValue(_seed));
    }

    public sealed record Values(
        string Backend,
        string? Endpoint,
        string? Model,
        string? ApiKey,
        int MaxInFlight,
        double TimeoutSeconds,
        int Retries,
        FileInfo? Dataset,
        string Verifier,
        string Template,
        string[] Stop,
        FileInfo? Checkpoint,
        string[] ConfigFiles,
        int? Prompts,
        double Temperature,
        double TopP,
        int? MaxTokens,
        ulong Seed);
}
