using System.Diagnostics;
using Basis.Model.Checkpoints;

namespace Basis.Model.Tests;

/// <summary>
/// Runs tools/torch_reference.py (PyTorch, float64) on the same weights and batch and compares logits and gradients.
/// The python comes from BASIS_TEST_PYTHON (default /usr/bin/python3); a missing python or torch fails the test.
/// </summary>
public sealed class TorchReferenceTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LogitsAndGradientsMatchPyTorch(bool tied)
    {
        var config = new TransformerConfig(VocabSize: 13, ModelDim: 16, Layers: 2, Heads: 2, FfnDim: 24, MaxSeqLen: 16, TiedEmbeddings: tied);
        var model = TransformerModel.Create(config, seed: 11, initStd: 0.2f);
        var batch = TestModels.MixedBatch(config.VocabSize, seqLen: 7);
        var dLogp = TestModels.Weights(batch.TokenCount, 40);
        var dEntropy = TestModels.Weights(batch.TokenCount, 41);

        var dir = Directory.CreateTempSubdirectory("basis-torch-");
        try
        {
            var weightsPath = Path.Combine(dir.FullName, "weights.safetensors");
            var batchPath = Path.Combine(dir.FullName, "batch.safetensors");
            var outPath = Path.Combine(dir.FullName, "out.safetensors");
            using (var f = File.Create(weightsPath))
            {
                ModelCheckpoint.Save(f, model);
            }

            int[] shape = [batch.BatchSize, batch.SeqLen];
            using (var f = File.Create(batchPath))
            {
                Safetensors.Write(f,
                [
                    SafetensorsTensor.FromInts("input_ids", batch.InputIds, shape),
                    SafetensorsTensor.FromInts("target_ids", batch.TargetIds, shape),
                    SafetensorsTensor.FromInts("attention_mask", [.. batch.AttentionMask.Select(m => m ? 1 : 0)], shape),
                    SafetensorsTensor.FromInts("loss_mask", [.. batch.LossMask.Select(m => m ? 1 : 0)], shape),
                    SafetensorsTensor.FromFloats("dlogp", dLogp, shape),
                    SafetensorsTensor.FromFloats("dentropy", dEntropy, shape),
                ]);
            }

            RunReference(weightsPath, batchPath, outPath);
            SafetensorsFile reference;
            using (var f = File.OpenRead(outPath))
            {
                reference = Safetensors.Read(f, outPath);
            }

            var pass = model.Forward(batch);
            AssertRelative(reference["logits"].ToFloat64(), pass.Logits.ToArray(), 1e-4, "logits");
            AssertRelative(reference["logp"].ToFloat64(), pass.TokenLogp, 1e-4, "logp");
            AssertRelative(reference["entropy"].ToFloat64(), pass.Entropy, 1e-4, "entropy");
            model.ZeroGradients();
            model.Backward(pass, dLogp, dEntropy);
            foreach (var p in model.Layout.Entries)
            {
                AssertRelative(reference["grad." + p.Name].ToFloat64(), model.Gradients.AsSpan(p.Offset, p.Length).ToArray(), 1e-3, "gradient of " + p.Name);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>max |ours − reference| relative to max |reference|, per tensor.</summary>
    private static void AssertRelative(double[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, scale = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - actual[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }

        Assert.True(scale > 0, $"{what}: the reference is all zeros, so the comparison would prove nothing.");
        Assert.True(maxDiff / scale <= tolerance, $"{what}: relative error {maxDiff / scale:G3} exceeds {tolerance:G3}.");
    }

    private static void RunReference(string weights, string batch, string output)
    {
        var python = Environment.GetEnvironmentVariable("BASIS_TEST_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        var script = FindScript();
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { script, "check", weights, batch, output })
        {
            info.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("Process.Start returned null.");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Assert.Fail($"The PyTorch cross-check needs python with torch: cannot start '{python}' (set BASIS_TEST_PYTHON): {e.Message}");
            return;
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"{python} {script} did not finish within 2 minutes.");
            }

            if (process.ExitCode != 0)
            {
                var err = stderr.Result;
                var hint = err.Contains("No module named 'torch'", StringComparison.Ordinal)
                    ? $"torch is not installed for {python}; install python3-torch or point BASIS_TEST_PYTHON at a python with torch. "
                    : string.Empty;
                Assert.Fail($"{hint}{python} {script} exited with {process.ExitCode}:\n{stdout}\n{err}");
            }
        }
    }

    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tools", "torch_reference.py");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"tools/torch_reference.py was not found above {AppContext.BaseDirectory}.");
        return string.Empty;
    }
}
