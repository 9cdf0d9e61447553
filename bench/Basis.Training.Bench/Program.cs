using BenchmarkDotNet.Running;
using Basis.Training.Bench;

// `noop [runs] [steps]`: rollouts per second through the training graph with a no-op model.
// `async [runs] [steps]`: generator busy fraction with the built-in transformer, staleness 1 and 2.
// `journal [steps]`: a quick look at journal append and replay rates (the figures to quote come from BenchmarkDotNet:
// --filter '*Journal*', with BASIS_TEST_POSTGRES set for the PostgreSQL rows).
// Anything else goes to BenchmarkDotNet (e.g. --filter '*' --job short).
return args.FirstOrDefault() switch
{
    "noop" => await NoOpProgram.RunAsync(args),
    "async" => await AsyncBusyProgram.RunAsync(args),
    "journal" => await JournalQuickProgram.RunAsync(args),
    _ => RunBenchmarkDotNet(args),
};

static int RunBenchmarkDotNet(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(NoOpGraph).Assembly).Run(args);
    return 0;
}
