using System.Threading.Channels;
using Basis.Streaming.Stages;

namespace Basis.Streaming;

/// <summary>A blueprint of the terminal stage; the graph completes when its sink does.</summary>
public sealed class Sink<T>
{
    private readonly Action<GraphContext, ChannelReader<T>, StageAttributes> _build;
    private readonly StageAttributes _attributes;

    internal Sink(Action<GraphContext, ChannelReader<T>, StageAttributes> build, StageAttributes attributes)
    {
        _build = build;
        _attributes = attributes;
    }

    public Sink<T> Named(string name) => new(_build, _attributes with { Name = name });

    public Sink<T> WithSupervision(SupervisionStrategy strategy) => new(_build, _attributes with { Supervision = strategy });

    internal void Materialize(GraphContext graph, ChannelReader<T> input) => _build(graph, input, _attributes);
}

/// <summary>Factories of sinks.</summary>
public static class Sink
{
    public static Sink<T> Ignore<T>() => new((graph, input, attributes) => SinkStages.Ignore(graph, input, attributes), StageAttributes.Default);

    public static Sink<T> ForEach<T>(Action<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return new((graph, input, attributes) => SyncStage.BuildSink(graph, input, attributes, "forEach", action), StageAttributes.Default);
    }

    public static Sink<T> ForEachAsync<T>(Func<T, CancellationToken, ValueTask> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var stage = new DelegateSinkStage<T>(action);
        return new((graph, input, attributes) => AsyncStage.BuildSink(graph, input, attributes, "forEach", () => stage), StageAttributes.Default);
    }

    /// <summary>A stateful sink (e.g. the learner); supervision's Restart recreates it from <paramref name="factory"/>.</summary>
    public static Sink<T> FromFactory<T>(Func<ISinkStage<T>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new((graph, input, attributes) => AsyncStage.BuildSink(graph, input, attributes, "sink", factory), StageAttributes.Default);
    }

    /// <summary>A sink that drives its input edge itself, pulling exactly what it wants (test probes, custom demand).</summary>
    public static Sink<T> FromReader<T>(Func<ChannelReader<T>, CancellationToken, Task> consume)
    {
        ArgumentNullException.ThrowIfNull(consume);
        return new((graph, input, attributes) => SinkStages.FromReader(graph, input, attributes, consume), StageAttributes.Default);
    }
}
