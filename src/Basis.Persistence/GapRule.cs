namespace Basis.Persistence;

/// <summary>
/// Decides how far a query may safely advance over positions (global orderings, or one stream's sequence
/// numbers) that should be dense. A missing position may belong to a transaction that has not committed
/// yet; delivering what lies beyond it would make a consumer that resumes from its last offset skip the
/// late row forever. So the query holds back at a gap until the gap fills or is older than the timeout,
/// where the age is measured from the write time of the first row after the gap: that row's position was
/// allocated after the missing one, so the missing one's transaction has been open at least that long.
/// </summary>
internal static class GapRule
{
    /// <summary>
    /// Returns the highest position up to which everything is either present or given up on.
    /// <paramref name="rows"/> must be sorted ascending by position, all greater than <paramref name="lastPosition"/>.
    /// </summary>
    public static long SafeUpperBound(IReadOnlyList<PositionStamp> rows, long lastPosition, long nowMicros, long gapTimeoutMicros)
    {
        long safe = lastPosition;
        foreach (PositionStamp row in rows)
        {
            if (row.Position != safe + 1 && nowMicros - row.CreatedMicros < gapTimeoutMicros)
            {
                break;
            }

            safe = row.Position;
        }

        return safe;
    }
}
