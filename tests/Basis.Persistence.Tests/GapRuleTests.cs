using FsCheck;
using FsCheck.Fluent;

namespace Basis.Persistence.Tests;

public sealed class GapRuleTests
{
    private const long Timeout = 10_000_000;
    private const long Now = 100_000_000;

    [Fact]
    public void Stops_before_a_fresh_gap_and_skips_an_old_one()
    {
        PositionStamp[] rows = [new(1, Now), new(2, Now), new(4, Now), new(5, Now)];
        Assert.Equal(2, GapRule.SafeUpperBound(rows, 0, Now, Timeout));

        PositionStamp[] aged = [new(1, Now), new(2, Now), new(4, Now - Timeout), new(6, Now - 1)];
        Assert.Equal(4, GapRule.SafeUpperBound(aged, 0, Now, Timeout));
        Assert.Equal(7, GapRule.SafeUpperBound([], 7, Now, Timeout));
    }

    [Fact]
    public void Without_aged_rows_the_bound_is_the_end_of_the_dense_prefix()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, 40).ArrayOf()), (int[] raw) =>
        {
            long[] positions = [.. raw.Select(p => (long)p + 1).Distinct().Order()];
            PositionStamp[] rows = [.. positions.Select(p => new PositionStamp(p, Now))];
            long expected = 0;
            while (positions.Contains(expected + 1))
            {
                expected++;
            }

            return GapRule.SafeUpperBound(rows, 0, Now, Timeout) == expected;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void With_every_row_aged_the_bound_is_the_last_row()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, 40).ArrayOf()), (int[] raw) =>
        {
            long[] positions = [.. raw.Select(p => (long)p + 1).Distinct().Order()];
            PositionStamp[] rows = [.. positions.Select(p => new PositionStamp(p, Now - Timeout))];
            long expected = positions.Length == 0 ? 0 : positions[^1];
            return GapRule.SafeUpperBound(rows, 0, Now, Timeout) == expected;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void The_bound_never_passes_a_missing_position_whose_next_row_is_fresh()
    {
        Prop.ForAll(Arb.From(Gen.Choose(1, 60).ArrayOf()), Arb.From(Gen.Choose(0, 20_000_000).ArrayOf()), (int[] raw, int[] ages) =>
        {
            long[] positions = [.. raw.Select(p => (long)p).Distinct().Order()];
            PositionStamp[] rows = [.. positions.Select((p, i) => new PositionStamp(p, Now - (ages.Length == 0 ? 0 : ages[i % ages.Length])))];
            long bound = GapRule.SafeUpperBound(rows, 0, Now, Timeout);
            long previous = 0;
            foreach (PositionStamp row in rows.Where(r => r.Position <= bound))
            {
                if (row.Position != previous + 1 && Now - row.CreatedMicros < Timeout)
                {
                    return false;
                }

                previous = row.Position;
            }

            return bound == previous;
        }).QuickCheckThrowOnFailure();
    }
}
