using Basis.Model.Checkpoints;
using Basis.Model.Sampling;
using Basis.Tests.Shared;

namespace Basis.Model.Torch.Tests;

public sealed class TorchPolicyModelTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LogitsMatchTheBuiltInModelToOneTenThousandth(bool tied)
    {
        TransformerModel reference = PolicyModelContract.Reference(tied);
        using TorchPolicyModel model = TorchPolicyModel.From(reference, LibTorchProbe.Require("cpu"));
        TokenBatch batch = PolicyModelContract.Batch(reference.Config.VocabSize);
        float[] expected = reference.Forward(batch).Logits.ToArray();
        float[] actual = model.HostLogits(batch);
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            // Padding positions see no key (left padding) and differ by design; they are never scored or attended to.
            if (batch.AttentionMask[i / reference.Config.VocabSize])
            {
                worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
            }
        }

        Assert.True(worst <= 1e-4f, $"logits differ by up to {worst}");
        Assert.Contains(expected, z => Math.Abs(z) > 1f);
    }

    [Fact]
    public void CheckpointsRoundTripBetweenBackendsBitForBit()
    {
        TransformerModel builtin = TransformerModel.Create(PolicyModelContract.Config(tied: false), seed: 3);
        var backend = TorchPolicyBackend.Create("cpu");
        using var first = new MemoryStream();
        ModelCheckpoint.Save(first, builtin, new Dictionary<string, string> { ["policy_version"] = "5" });
        first.Position = 0;
        IPolicyModel torch = backend.Load(first, "builtin.safetensors");
        Assert.Equal(builtin.Config, torch.Config);
        Assert.Equal(builtin.ComputeHash(), torch.ComputeHash());

        using var second = new MemoryStream();
        ModelCheckpoint.Save(second, torch, new Dictionary<string, string> { ["policy_version"] = "5" });
        Assert.Equal(first.ToArray(), second.ToArray());
        second.Position = 0;
        TransformerModel back = ModelCheckpoint.Load(second, "torch.safetensors");
        Assert.Equal(builtin.Weights, back.Weights);
    }

    [Fact]
    public void BackendCreatesTheBuiltInInitialWeights()
    {
        TransformerConfig config = PolicyModelContract.Config(tied: true);
        IPolicyModel torch = TorchPolicyBackend.Create("cpu").Create(config, 42, 0.02f);
        Assert.Equal(TransformerModel.Create(config, 42, 0.02f).Weights, torch.ExportWeights());
        Assert.Equal("torchsharp:cpu", TorchPolicyBackend.Create("cpu").Name);
    }

    [Fact]
    public void GreedySamplingAgreesWithTheBuiltInModel()
    {
        TransformerModel reference = PolicyModelContract.Reference(tied: true);
        using TorchPolicyModel model = TorchPolicyModel.From(reference, LibTorchProbe.Require("cpu"));
        IReadOnlyList<int>[] prompts = [[1, 2, 3], [4], [5, 6]];
        var options = new SamplingOptions(Temperature: 0f, MaxNewTokens: 6);
        IReadOnlyList<SampledSequence> expected = Sampler.Generate(reference, prompts, options, seed: 1);
        IReadOnlyList<SampledSequence> actual = Sampler.Generate(model, prompts, options, seed: 1);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(expected[i].Tokens, actual[i].Tokens);
            for (int j = 0; j < expected[i].PolicyLogp.Length; j++)
            {
                Assert.True(Math.Abs(expected[i].PolicyLogp[j] - actual[i].PolicyLogp[j]) <= 1e-4f, $"row {i} token {j}: {expected[i].PolicyLogp[j]} vs {actual[i].PolicyLogp[j]}");
            }
        }
    }

    [Fact]
    public void ACudaDeviceThatIsNotThereIsOneClearLine()
    {
        var error = Assert.Throws<PolicyBackendUnavailableException>(() => TorchPolicyBackend.Create("cuda"));
        Assert.Contains("TorchSharp-cuda-linux", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void AMissingGlibcxxVersionIsNamedWithTheFix()
    {
        string path = Path.Combine(Path.GetTempPath(), $"libstdc++-{Guid.NewGuid():N}.so.6");
        File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes("\0GLIBCXX_3.4.9\0GLIBCXX_3.4.30\0GLIBCXX_3.4\0GLIBCXX_3.4.29\0CXXABI_1.3.13\0"));
        try
        {
            string message = LibTorchProbe.Diagnose(path, new DllNotFoundException("libLibTorchSharp.so: cannot open shared object file\nmore"));
            Assert.Contains("needs GLIBCXX_3.4.32", message, StringComparison.Ordinal);
            Assert.Contains("stops at GLIBCXX_3.4.30", message, StringComparison.Ordinal);
            Assert.Contains("tests/scripts/libstdcxx.sh", message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', message);

            File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes("\0GLIBCXX_3.4.32\0GLIBCXX_3.4.33\0"));
            message = LibTorchProbe.Diagnose(path, new DllNotFoundException("libtorch_cpu.so: cannot open shared object file\nmore"));
            Assert.Contains("could not load libtorch (libtorch_cpu.so: cannot open shared object file); it needs GLIBCXX_3.4.32", message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
