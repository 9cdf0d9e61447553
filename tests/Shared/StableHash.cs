namespace Basis.Testing;

/// <summary>
/// A 64-bit string hash that is the same in every process (unlike string.GetHashCode): FNV-1a over the UTF-16 code
/// units, then the SplitMix64 finalizer. The fake completion servers derive their "sampled" answers from it.
/// Linked into the test projects that need it (tests/Shared).
/// </summary>
internal static class StableHash
{
    public static ulong Of(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        hash = (hash ^ (hash >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        hash = (hash ^ (hash >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return hash ^ (hash >> 31);
    }
}
