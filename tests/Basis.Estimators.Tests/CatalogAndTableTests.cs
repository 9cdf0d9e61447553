namespace Basis.Estimators.Tests;

public sealed class CatalogAndTableTests
{
    [Theory]
    [InlineData("basis", "basis", 1)]
    [InlineData("basis-initial", "basis-initial", 1)]
    [InlineData("basis-whiten", "basis-whiten", 1)]
    [InlineData("reinforce", "reinforce", 1)]
    [InlineData("reinforce++", "reinforce++", 1)]
    [InlineData("grpo:8", "grpo", 8)]
    [InlineData("drgrpo:8", "drgrpo", 8)]
    [InlineData("rloo:4", "rloo", 4)]
    [InlineData("gpg:8", "gpg", 8)]
    [InlineData("kae", "kae", 1)]
    [InlineData("ebpo:8", "ebpo", 8)]
    public void CreatesFromSpec(string spec, string name, int rolloutsPerPrompt)
    {
        IAdvantageEstimator estimator = EstimatorCatalog.Create(spec);
        Assert.Equal(name, estimator.Name);
        Assert.Equal(rolloutsPerPrompt, estimator.RolloutsPerPrompt);
    }

    [Fact]
    public void UnknownSpecListsTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => EstimatorCatalog.Create("ppo"));
        Assert.Contains("'ppo'", error.Message, StringComparison.Ordinal);
        Assert.Contains("basis, basis-initial", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => EstimatorCatalog.Create("grpo:x"));
        Assert.Throws<ArgumentException>(() => EstimatorCatalog.Create("basis:8"));
    }

    [Fact]
    public void DefaultBasisIsTheDocumentedConfiguration()
    {
        BasisOptions d = BasisOptions.Default;
        Assert.Equal(OfflineValueForm.TiltedPassRate, d.Form);
        Assert.Equal(BetaCalibration.PreviousStep, d.Calibration);
        Assert.True(d.UseHistory && d.Refine && d.Clip && d.SmoothOffline && !d.Whiten);
        Assert.Contains("half_life=max(32 steps, 4 revisits)", d.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void OfflineTableRoundTripsThroughJson()
    {
        var table = new OfflineValueTable("sha256:abc", [new("b", new OfflineCounts(3, 8)), new("a", new OfflineCounts(8, 8))], "tasks:1");
        string json = table.ToJson();
        OfflineValueTable back = OfflineValueTable.FromJson(json);
        Assert.Equal("sha256:abc", back.PolicyHash);
        Assert.Equal("tasks:1", back.TaskSetHash);
        Assert.Equal(new OfflineCounts(3, 8), back.Entries["b"]);
        Assert.Equal(json, back.ToJson());
        Assert.True(json.IndexOf("\"a\"", StringComparison.Ordinal) < json.IndexOf("\"b\"", StringComparison.Ordinal));

        using var stream = new MemoryStream();
        table.WriteTo(stream);
        stream.Position = 0;
        Assert.Equal(json, OfflineValueTable.ReadFrom(stream).ToJson());
        Assert.Equal(new OfflineCounts(3, 8), back.Attach(new ScoredRollout("b", 0, 1)).Offline);
    }

    [Fact]
    public void OfflineTableErrorsNameTheEntry()
    {
        var error = Assert.Throws<FormatException>(() => OfflineValueTable.FromJson(
            "{\"policy_hash\":\"h\",\"entries\":[{\"prompt_id\":\"x\",\"successes\":9,\"samples\":8}]}"));
        Assert.Contains("'x'", error.Message, StringComparison.Ordinal);
        Assert.Contains("policy_hash", Assert.Throws<FormatException>(() => OfflineValueTable.FromJson("{\"entries\":[]}")).Message, StringComparison.Ordinal);
        Assert.Contains("twice", Assert.Throws<FormatException>(() => OfflineValueTable.FromJson(
            "{\"policy_hash\":\"h\",\"entries\":[{\"prompt_id\":\"x\",\"successes\":1,\"samples\":8},{\"prompt_id\":\"x\",\"successes\":1,\"samples\":8}]}")).Message, StringComparison.Ordinal);
    }
}
