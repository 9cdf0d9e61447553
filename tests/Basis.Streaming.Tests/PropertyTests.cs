using FsCheck;
using FsCheck.Fluent;

namespace Basis.Streaming.Tests;

public sealed class PropertyTests
{
    private static List<T> RunToList<T>(Source<T> source)
    {
        var output = new List<T>();
        Task run = source.To(Sink.ForEach<T>(output.Add)).RunAsync(Guard.Token);
        run.WaitAsync(Guard.Timeout, Guard.Token).ConfigureAwait(false).GetAwaiter().GetResult();
        return output;
    }

    [Fact]
    public void Grouped_PartitionsTheStreamInOrder()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<int[]>(), Gen.Choose(1, 8).ToArbitrary(), (int[] items, int size) =>
        {
            var groups = RunToList(Source.From(items).Grouped(size));
            return groups.SelectMany(g => g).SequenceEqual(items)
                && groups.All(g => g.Count > 0)
                && groups.SkipLast(1).All(g => g.Count == size);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void BalanceThenSelectAsync_DeliversTheSameMultiset()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<int[]>(), Gen.Choose(1, 4).ToArbitrary(), (int[] items, int workers) =>
        {
            var output = RunToList(Source.From(items)
                .Balance(workers, _ => Flow.Select((int x) => x))
                .SelectAsync(3, (int x, CancellationToken _) => ValueTask.FromResult(x)));
            return output.Order().SequenceEqual(items.Order());
        }).QuickCheckThrowOnFailure();
    }
}
