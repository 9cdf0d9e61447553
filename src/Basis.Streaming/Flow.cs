using System.Threading.Channels;
using Basis.Streaming.Stages;

namespace Basis.Streaming;

/// <summary>
/// A reusable blueprint of stages from <typeparamref name="TIn"/> to <typeparamref name="TOut"/>.
/// Nothing runs until a graph containing it is run; each run builds fresh stages.
/// Attribute methods (<see cref="Named"/>, <see cref="WithBuffer"/>, <see cref="WithSupervision"/>) apply to the last stage.
/// </summary>
public sealed class Flow<TIn, TOut>
{
    private readonly Func<GraphContext, ChannelReader<TIn>, StageAttributes, ChannelReader<TOut>> _build;
    private readonly StageAttributes _attributes;

    internal Flow(Func<GraphContext, ChannelReader<TIn>, StageAttributes, ChannelReader<TOut>> build, StageAttributes attributes)
    {
        _build = build;
        _attributes = attributes;
    }

    public Flow<TIn, TOut> Named(string name) => new(_build, _attributes with { Name = name });

    public Flow<TIn, TOut> WithBuffer(int size) => new(_build, _attributes.WithBuffer(size));

    public Flow<TIn, TOut> WithSupervision(SupervisionStrategy strategy) => new(_build, _attributes with { Supervision = strategy });

    public Flow<TIn, TNext> Via<TNext>(Flow<TOut, TNext> next) =>
        new((graph, input, attributes) => next.Build(graph, Materialize(graph, input), attributes), next._attributes);

    public Flow<TIn, TNext> Select<TNext>(Func<TOut, TNext> selector) => Via(Flow.Select(selector));

    public Flow<TIn, TOut> Where(Func<TOut, bool> predicate) => Via(Flow.Where(predicate));

    public Flow<TIn, TNext> SelectAsync<TNext>(int parallelism, Func<TOut, CancellationToken, ValueTask<TNext>> selector) =>
        Via(Flow.SelectAsync(parallelism, selector));

    public Flow<TIn, IReadOnlyList<TOut>> Grouped(int size) => Via(Flow.Grouped<TOut>(size));

    public Flow<TIn, IReadOnlyList<TOut>> GroupedWithin(int size, TimeSpan window, TimeProvider? timeProvider = null) =>
        Via(Flow.GroupedWithin<TOut>(size, window, timeProvider));

    public Flow<TIn, TOut> Take(long count) => Via(Flow.Take<TOut>(count));

    public Flow<TIn, TNext> Balance<TNext>(int workers, Func<int, Flow<TOut, TNext>> worker, BalanceOptions? options = null) =>
        Via(Flow.Balance(workers, worker, options));

    public Sink<TIn> To(Sink<TOut> sink) => new((graph, input, _) => sink.Materialize(graph, Materialize(graph, input)), StageAttributes.Default);

    internal ChannelReader<TOut> Materialize(GraphContext graph, ChannelReader<TIn> input) => _build(graph, input, _attributes);

    internal Source<TOut> AppendTo(Source<TIn> source) =>
        new((graph, attributes) => _build(graph, source.Materialize(graph), attributes), _attributes);

    private ChannelReader<TOut> Build(GraphContext graph, ChannelReader<TIn> input, StageAttributes attributes) => _build(graph, input, attributes);
}

/// <summary>Factories of single-stage flows.</summary>
public static class Flow
{
    /// <summary>A flow that passes elements through without a stage of its own.</summary>
    public static Flow<T, T> Identity<T>() => new((_, input, _) => input, StageAttributes.Default);

    public static Flow<TIn, TOut> Select<TIn, TOut>(Func<TIn, TOut> selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        SyncStep<TIn, TOut> step = (TIn input, out TOut output) =>
        {
            output = selector(input);
            return true;
        };
        return new((graph, input, attributes) => SyncStage.Build(graph, input, attributes, "select", step), StageAttributes.Default);
    }

    public static Flow<T, T> Where<T>(Func<T, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        SyncStep<T, T> step = (T input, out T output) =>
        {
            output = input;
            return predicate(input);
        };
        return new((graph, input, attributes) => SyncStage.Build(graph, input, attributes, "where", step), StageAttributes.Default);
    }

    /// <summary>Up to <paramref name="parallelism"/> calls in flight; results keep the input order.</summary>
    public static Flow<TIn, TOut> SelectAsync<TIn, TOut>(int parallelism, Func<TIn, CancellationToken, ValueTask<TOut>> selector)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        ArgumentNullException.ThrowIfNull(selector);
        var stage = new DelegateStage<TIn, TOut>(selector);
        return new((graph, input, attributes) => AsyncStage.Build(graph, input, attributes, "selectAsync", parallelism, () => stage), StageAttributes.Default);
    }

    /// <summary>A stateful stage: one instance, one element at a time; supervision's Restart recreates it from <paramref name="factory"/>.</summary>
    public static Flow<TIn, TOut> FromFactory<TIn, TOut>(Func<IStage<TIn, TOut>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new((graph, input, attributes) => AsyncStage.Build(graph, input, attributes, "stage", 1, factory), StageAttributes.Default);
    }

    public static Flow<T, IReadOnlyList<T>> Grouped<T>(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        return new((graph, input, attributes) => GroupingStages.Grouped(graph, input, attributes, size), StageAttributes.Default);
    }

    /// <summary>Groups of at most <paramref name="size"/>, emitted when full or when the window's timer fires (Akka's groupedWithin).</summary>
    public static Flow<T, IReadOnlyList<T>> GroupedWithin<T>(int size, TimeSpan window, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        return new((graph, input, attributes) => GroupingStages.GroupedWithin(graph, input, attributes, size, window, timeProvider), StageAttributes.Default);
    }

    public static Flow<T, T> Take<T>(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return new((graph, input, attributes) => TakeStage.Build(graph, input, attributes, count), StageAttributes.Default);
    }

    /// <summary>
    /// Fans out to <paramref name="workers"/> flows built by <paramref name="worker"/> (given the worker index) and merges
    /// their outputs (unordered). Worker stages are named with the index, e.g. "generate[2]".
    /// </summary>
    public static Flow<TIn, TOut> Balance<TIn, TOut>(int workers, Func<int, Flow<TIn, TOut>> worker, BalanceOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentNullException.ThrowIfNull(worker);
        BalanceOptions settings = options ?? BalanceOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.WorkerBufferSize, 1);
        return new((graph, input, attributes) => BalanceStage.Build(graph, input, attributes, workers, worker, settings), StageAttributes.Default);
    }
}
