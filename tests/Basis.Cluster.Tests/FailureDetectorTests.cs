using Basis.Cluster.Membership;
using FsCheck;
using FsCheck.Fluent;

namespace Basis.Cluster.Tests;

public sealed class FailureDetectorTests
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_timeout_detector_gives_up_strictly_after_the_timeout()
    {
        var detector = new TimeoutFailureDetector(TimeSpan.FromSeconds(10));
        Assert.True(detector.IsAvailable(s_start));
        detector.Heartbeat(s_start);
        detector.Heartbeat(s_start - TimeSpan.FromSeconds(5));

        Assert.True(detector.IsAvailable(s_start + TimeSpan.FromSeconds(10)));
        Assert.False(detector.IsAvailable(s_start + TimeSpan.FromSeconds(10.001)));
        Assert.Equal("silent for 10.5 s (timeout 10.0 s)", detector.Describe(s_start + TimeSpan.FromSeconds(10.5)));
    }

    [Fact]
    public void Phi_accrual_trusts_regular_heartbeats_and_suspects_a_long_silence()
    {
        var detector = new PhiAccrualFailureDetector(threshold: 8, minSamples: 5, minStdDeviation: TimeSpan.FromMilliseconds(100), fallbackTimeout: TimeSpan.FromSeconds(30));
        DateTimeOffset at = s_start;
        for (int i = 0; i < 20; i++)
        {
            at += TimeSpan.FromMilliseconds(i % 2 == 0 ? 950 : 1050);
            detector.Heartbeat(at);
        }

        // Mean 1 s, std 50 ms raised to the 100 ms floor: y = (elapsed - 1000) / 100; at 1.5 s, y = 5 and phi = 7.30.
        Assert.True(detector.Phi(at + TimeSpan.FromSeconds(1)) < 0.5);
        Assert.True(detector.IsAvailable(at + TimeSpan.FromSeconds(1.3)));
        Assert.False(detector.IsAvailable(at + TimeSpan.FromSeconds(2)));
        Assert.InRange(detector.Phi(at + TimeSpan.FromSeconds(1.5)), 7.2, 7.4);
    }

    [Fact]
    public void Phi_accrual_falls_back_to_the_timeout_until_it_has_enough_samples()
    {
        var detector = new PhiAccrualFailureDetector(threshold: 1, minSamples: 10, minStdDeviation: TimeSpan.FromMilliseconds(10), fallbackTimeout: TimeSpan.FromSeconds(5));
        detector.Heartbeat(s_start);
        detector.Heartbeat(s_start + TimeSpan.FromSeconds(1));

        Assert.True(detector.IsAvailable(s_start + TimeSpan.FromSeconds(6)));
        Assert.False(detector.IsAvailable(s_start + TimeSpan.FromSeconds(6.1)));
        Assert.Equal(1, detector.Samples);
    }

    [Fact]
    public void Phi_never_decreases_as_the_silence_grows()
    {
        Prop.ForAll(
            Gen.Choose(50, 3000).ArrayOf().Where(a => a.Length >= 2).ToArbitrary(),
            Gen.Choose(0, 20_000).Two().ToArbitrary(),
            (intervals, silences) =>
            {
                var detector = new PhiAccrualFailureDetector(8, 1, TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(10));
                DateTimeOffset at = s_start;
                detector.Heartbeat(at);
                foreach (int ms in intervals)
                {
                    at += TimeSpan.FromMilliseconds(ms);
                    detector.Heartbeat(at);
                }

                (int shorter, int longer) = silences.Item1 <= silences.Item2 ? silences : (silences.Item2, silences.Item1);
                return detector.Phi(at + TimeSpan.FromMilliseconds(shorter)) <= detector.Phi(at + TimeSpan.FromMilliseconds(longer));
            }).QuickCheckThrowOnFailure();
    }
}
