using System.Security.Cryptography;
using System.Text;

namespace Basis.Tasks;

/// <summary>
/// Content hash of an ordered prompt list. Two task sets hash equal exactly when they hold the same prompts
/// (id, text, gold, difficulty, verifier) in the same order, so an offline table can be tied to its prompts.
/// </summary>
public static class TaskSetHash
{
    public static string Compute(IEnumerable<TaskPrompt> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (TaskPrompt prompt in prompts)
        {
            Append(hash, prompt.Id);
            Append(hash, prompt.Text);
            Append(hash, prompt.Gold);
            Append(hash, prompt.Difficulty);
            Append(hash, prompt.Verifier);
        }

        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    // Length-prefixed fields so that ("ab", "c") and ("a", "bc") hash differently.
    private static void Append(IncrementalHash hash, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }
}
