using Basis.Model;
using Basis.Model.Torch;
using Basis.Training.Run;

namespace Basis.Cli.Commands;

/// <summary><c>basis.model.backend</c> and <c>basis.model.device</c> → the backend that computes the policy.</summary>
internal static class PolicyBackends
{
    /// <exception cref="PolicyBackendUnavailableException">torchsharp was chosen and libtorch or the device cannot be used here.</exception>
    public static IPolicyBackend Create(ModelSettings model) => model.Backend switch
    {
        "torchsharp" => TorchPolicyBackend.Create(model.Device),
        _ => BuiltinPolicyBackend.Instance,
    };
}
