namespace Basis.Hocon.Tests;

public sealed class UnitGetterTests
{
    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("500 ms", 500)]
    [InlineData("2 minutes", 120_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("1 day", 86_400_000)]
    [InlineData("250", 250)]
    [InlineData("3 seconds", 3_000)]
    [InlineData("7m", 420_000)]
    [InlineData("1000 us", 1)]
    [InlineData("2000000ns", 2)]
    public void Reads_durations(string text, long milliseconds)
    {
        HoconConfig config = Hocon.Parse($"d = {text}");

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), config.GetDuration("d"));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), HoconDuration.Parse(text));
    }

    [Fact]
    public void A_bare_number_value_is_milliseconds()
        => Assert.Equal(TimeSpan.FromMilliseconds(1500), Hocon.Parse("d = 1500").GetDuration("d"));

    [Theory]
    [InlineData("512 MiB", 512L << 20)]
    [InlineData("1G", 1L << 30)]
    [InlineData("10kB", 10_000)]
    [InlineData("10 KiB", 10_240)]
    [InlineData("1.5M", 1_572_864)]
    [InlineData("2 megabytes", 2_000_000)]
    [InlineData("3 bytes", 3)]
    [InlineData("1024", 1024)]
    [InlineData("1 TB", 1_000_000_000_000)]
    public void Reads_sizes(string text, long bytes)
    {
        Assert.Equal(bytes, Hocon.Parse($"s = {text}").GetBytes("s"));
        Assert.Equal(new ByteSize(bytes), ByteSize.Parse(text));
    }

    [Theory]
    [InlineData("10 parsecs")]
    [InlineData("s")]
    [InlineData("1.2.3s")]
    [InlineData("")]
    public void Rejects_bad_durations(string text)
    {
        Assert.False(HoconDuration.TryParse(text, out _));
        Assert.False(ByteSize.TryParse(text + "x", out _));
    }

    [Fact]
    public void Unit_errors_name_key_and_place()
    {
        HoconConfig config = Hocon.Parse("timeout = 10 parsecs\nsize = lots");

        Assert.Equal("test.conf:1:11: 'timeout' must be a duration such as \"10s\", \"500 ms\" or \"2 minutes\", but it is a string \"10 parsecs\"",
            Assert.Throws<HoconException>(() => config.GetDuration("timeout")).Message);
        Assert.Contains("'size' must be a size such as \"512 MiB\"", Assert.Throws<HoconException>(() => config.GetBytes("size")).Message);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("on", true)]
    [InlineData("yes", true)]
    [InlineData("false", false)]
    [InlineData("off", false)]
    [InlineData("no", false)]
    public void Reads_booleans_the_hocon_way(string text, bool expected)
        => Assert.Equal(expected, Hocon.Parse($"b = {text}").GetBoolean("b"));
}
