using Basis.Model;
using Basis.Model.Checkpoints;
using Basis.Training.Run;

namespace Basis.Cli.Tests;

/// <summary>Untrained built-in policies for the eval and mse-bench tests: fast to sample, deterministic.</summary>
internal static class EvalTestModels
{
    /// <summary>A randomly initialised model with hocon/ci.conf's shape, saved as a checkpoint in <paramref name="directory"/>.</summary>
    public static string WriteTinyCheckpoint(string directory)
    {
        var config = new TransformerConfig(TrainingRun.CreateTokenizer().VocabSize, 32, 1, 2, 64, 24, true);
        TransformerModel model = TransformerModel.Create(config, seed: 11);
        string path = Path.Combine(directory, "tiny.safetensors");
        using FileStream stream = File.Create(path);
        ModelCheckpoint.Save(stream, model);
        return path;
    }
}
