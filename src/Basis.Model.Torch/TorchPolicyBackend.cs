using Basis.Model.Checkpoints;
using TorchSharp;

namespace Basis.Model.Torch;

/// <summary><c>basis.model.backend = torchsharp</c>: the policy on libtorch, on the CPU or a CUDA device.</summary>
public sealed class TorchPolicyBackend : IPolicyBackend
{
    private readonly torch.Device _device;

    private TorchPolicyBackend(torch.Device device, string deviceName)
    {
        _device = device;
        Name = $"torchsharp:{deviceName}";
    }

    public string Name { get; }

    /// <summary>Loads libtorch and picks the device.</summary>
    /// <exception cref="PolicyBackendUnavailableException">libtorch did not load, or the device is not there; the message is one line.</exception>
    public static TorchPolicyBackend Create(string device) => new(LibTorchProbe.Require(device), device);

    /// <summary>The built-in model's initial weights (same seed, same draws), moved to libtorch.</summary>
    public IPolicyModel Create(TransformerConfig config, ulong seed, float initStd) =>
        TorchPolicyModel.From(TransformerModel.Create(config, seed, initStd), _device);

    public IPolicyModel Load(Stream stream, string source) => ModelCheckpoint.Load(stream, config => new TorchPolicyModel(config, _device), source);
}
