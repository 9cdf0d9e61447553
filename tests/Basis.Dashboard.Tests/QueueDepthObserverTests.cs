using Basis.Model.Training;
using Basis.Training.Graph.Monitoring;
using Basis.Training.Run;

namespace Basis.Dashboard.Tests;

public sealed class QueueDepthObserverTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("basis-dashboard-observer").FullName;

    [Fact]
    public void EachStepSamplesTheQueuesIntoQueuesCsvAndIsPassedOn()
    {
        var inner = new RecordingObserver();
        int depth = 2;
        var observer = new QueueDepthObserver(inner, _folder, () => [new StageMetricsSnapshot("generator", "flow", StageStatus.Running, 0, 0, 0, depth, depth, 8, 0, 0)]);

        observer.Phase("rl", "starting");
        observer.Step(Record(0));
        depth = 6;
        observer.Step(Record(1));

        CsvChunk chunk = new CsvTail(Path.Combine(_folder, QueueDepthLog.FileName)).ReadAppended()!;
        Assert.Equal([new ChartPoint("queue:generator", 0, 2), new ChartPoint("queue:generator", 1, 6)], QueueDepthLog.Points(chunk.Header, chunk.Rows));
        Assert.Equal(["phase rl", "step 0", "step 1"], inner.Calls);
    }

    [Fact]
    public void TheEvaluationBeforeRlStartsNoFile()
    {
        var observer = new QueueDepthObserver(new RecordingObserver(), _folder, () => throw new InvalidOperationException("no graph before RL"));

        observer.Step(Record(-1));

        Assert.False(File.Exists(Path.Combine(_folder, QueueDepthLog.FileName)));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static StepRecord Record(long step) => new(step, 0, 0, 0.5, null, null, null, 0, 0, 0, 0, 0, 0);

    private sealed class RecordingObserver : ITrainingObserver
    {
        public List<string> Calls { get; } = [];

        public void Phase(string phase, string detail) => Calls.Add($"phase {phase}");

        public void Sft(SftProgress progress) => Calls.Add("sft");

        public void OfflineTable(int donePrompts, int totalPrompts) => Calls.Add("offline");

        public void Step(StepRecord record) => Calls.Add($"step {record.Step}");
    }
}
