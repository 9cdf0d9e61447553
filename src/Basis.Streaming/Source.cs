using System.Threading.Channels;
using Basis.Streaming.Stages;

namespace Basis.Streaming;

/// <summary>
/// A blueprint of a stage chain that produces <typeparamref name="T"/>. Operators return new blueprints;
/// attribute methods (<see cref="Named"/>, <see cref="WithBuffer"/>, <see cref="WithSupervision"/>) apply to the last stage.
/// </summary>
public sealed class Source<T>
{
    private readonly Func<GraphContext, StageAttributes, ChannelReader<T>> _build;
    private readonly StageAttributes _attributes;

    internal Source(Func<GraphContext, StageAttributes, ChannelReader<T>> build, StageAttributes attributes)
    {
        _build = build;
        _attributes = attributes;
    }

    public Source<T> Named(string name) => new(_build, _attributes with { Name = name });

    public Source<T> WithBuffer(int size) => new(_build, _attributes.WithBuffer(size));

    public Source<T> WithSupervision(SupervisionStrategy strategy) => new(_build, _attributes with { Supervision = strategy });

    public Source<TOut> Via<TOut>(Flow<T, TOut> flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        return flow.AppendTo(this);
    }

    public Source<TOut> Select<TOut>(Func<T, TOut> selector) => Via(Flow.Select(selector));

    public Source<T> Where(Func<T, bool> predicate) => Via(Flow.Where(predicate));

    public Source<TOut> SelectAsync<TOut>(int parallelism, Func<T, CancellationToken, ValueTask<TOut>> selector) =>
        Via(Flow.SelectAsync(parallelism, selector));

    public Source<IReadOnlyList<T>> Grouped(int size) => Via(Flow.Grouped<T>(size));

    public Source<IReadOnlyList<T>> GroupedWithin(int size, TimeSpan window, TimeProvider? timeProvider = null) =>
        Via(Flow.GroupedWithin<T>(size, window, timeProvider));

    public Source<T> Take(long count) => Via(Flow.Take<T>(count));

    public Source<TOut> Balance<TOut>(int workers, Func<int, Flow<T, TOut>> worker, BalanceOptions? options = null) =>
        Via(Flow.Balance(workers, worker, options));

    /// <summary>
    /// Lets elements of <paramref name="preferred"/> overtake this source's buffered elements: readers
    /// downstream take from it first whenever it has any (work to redo ahead of new work). Adds no
    /// stage; completes when this source does.
    /// </summary>
    public Source<T> MergePreferred(ChannelReader<T> preferred)
    {
        ArgumentNullException.ThrowIfNull(preferred);
        return new((graph, _) => new PreferredReader<T>(preferred, Materialize(graph)), StageAttributes.Default);
    }

    public RunnableGraph To(Sink<T> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return new RunnableGraph(graph => sink.Materialize(graph, Materialize(graph)));
    }

    internal ChannelReader<T> Materialize(GraphContext graph) => _build(graph, _attributes);
}

/// <summary>Factories of sources.</summary>
public static class Source
{
    /// <summary>Emits the items of <paramref name="items"/> (enumerated lazily, on demand) then completes.</summary>
    public static Source<T> From<T>(IEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return new((graph, attributes) => SourceStages.FromEnumerable(graph, attributes, items), StageAttributes.Default);
    }

    public static Source<T> From<T>(IAsyncEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return new((graph, attributes) => SourceStages.FromAsyncEnumerable(graph, attributes, items), StageAttributes.Default);
    }

    /// <summary>
    /// Uses an existing reader as the source edge (no stage of its own): the downstream stage reads it directly.
    /// Such a source can be run once.
    /// </summary>
    public static Source<T> FromReader<T>(ChannelReader<T> reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new((_, _) => reader, StageAttributes.Default);
    }
}
