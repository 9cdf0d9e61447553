using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Basis.Model;

/// <summary>The policy identity: SHA-256 (lower-case hex) of the config metadata followed by the little-endian weights.</summary>
public static class PolicyHash
{
    public static string Compute(TransformerConfig config, ReadOnlySpan<float> weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (key, value) in config.ToMetadata())
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"{key}={value}\n"));
        }

        if (BitConverter.IsLittleEndian)
        {
            sha.AppendData(MemoryMarshal.AsBytes(weights));
        }
        else
        {
            var buffer = new byte[4];
            foreach (var w in weights)
            {
                BinaryPrimitives.WriteSingleLittleEndian(buffer, w);
                sha.AppendData(buffer);
            }
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

/// <summary>What every <see cref="IPolicyModel"/> offers on top of the interface.</summary>
public static class PolicyModelExtensions
{
    /// <summary>A copy of every parameter, flat in layout order.</summary>
    public static float[] ExportWeights(this IPolicyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var weights = new float[model.Layout.TotalLength];
        model.ReadWeights(weights);
        return weights;
    }

    /// <summary>A copy of the accumulated gradients, flat in layout order.</summary>
    public static float[] ExportGradients(this IPolicyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var gradients = new float[model.Layout.TotalLength];
        model.ReadGradients(gradients);
        return gradients;
    }

    /// <summary>The policy identity (<see cref="PolicyHash"/>); equal weights give equal hashes on every backend.</summary>
    public static string ComputeHash(this IPolicyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model is TransformerModel builtin ? builtin.ComputeHash() : PolicyHash.Compute(model.Config, model.ExportWeights());
    }
}
