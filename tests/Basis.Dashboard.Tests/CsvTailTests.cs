namespace Basis.Dashboard.Tests;

public sealed class CsvTailTests : IDisposable
{
    private readonly string _path = Path.Combine(Directory.CreateTempSubdirectory("basis-dashboard-csv").FullName, "metrics.csv");

    [Fact]
    public void AMissingFileReadsAsNothingYet()
    {
        Assert.Null(new CsvTail(_path).ReadAppended());
    }

    [Fact]
    public void EachReadReturnsOnlyTheCompleteLinesAppendedSinceTheLastOne()
    {
        var tail = new CsvTail(_path);
        File.WriteAllText(_path, "step,value\n0,1\n1,");

        CsvChunk first = tail.ReadAppended()!;
        Assert.Equal(["step", "value"], first.Header);
        Assert.Equal([["0", "1"]], first.Rows);

        // The half-written row waits for its newline.
        File.AppendAllText(_path, "2\n2,3\n");
        CsvChunk second = tail.ReadAppended()!;
        Assert.Equal([["1", "2"], ["2", "3"]], second.Rows);
        Assert.Empty(tail.ReadAppended()!.Rows);
    }

    [Fact]
    public void AFileRewrittenFromTheStartIsReadAgainWithItsNewHeader()
    {
        var tail = new CsvTail(_path);
        File.WriteAllText(_path, "step,value\n0,1\n1,2\n");
        Assert.Equal(2, tail.ReadAppended()!.Rows.Count);

        File.WriteAllText(_path, "step,other\n5,6\n");
        CsvChunk again = tail.ReadAppended()!;

        Assert.True(again.Restarted);
        Assert.Equal(["step", "other"], again.Header);
        Assert.Equal([["5", "6"]], again.Rows);
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_path)!, recursive: true);
}
