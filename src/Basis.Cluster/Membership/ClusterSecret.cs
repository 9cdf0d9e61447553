using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Basis.Cluster.Membership;

/// <summary>
/// The shared join secret. A node proves it knows the secret with an HMAC-SHA256 over its join
/// request; the secret itself never leaves the process and never appears in a message.
/// </summary>
public sealed class ClusterSecret
{
    public const string Variable = "BASIS_CLUSTER_SECRET";
    public const int MinimumLength = 8;

    private readonly byte[] _key;

    private ClusterSecret(byte[] key)
    {
        _key = key;
    }

    /// <exception cref="ClusterConfigurationException">The secret is missing or too short.</exception>
    public static ClusterSecret From(string? secret)
    {
        if (string.IsNullOrEmpty(secret))
        {
            throw new ClusterConfigurationException($"basis.cluster.secret is not set: export {Variable} (the same value on every node of the cluster).");
        }

        if (secret.Length < MinimumLength)
        {
            throw new ClusterConfigurationException($"basis.cluster.secret is too short: {Variable} needs at least {MinimumLength} characters.");
        }

        return new ClusterSecret(Encoding.UTF8.GetBytes(secret));
    }

    public byte[] Sign(JoinRequest request) => HMACSHA256.HashData(_key, request.CanonicalBytes());

    public bool Verify(JoinRequest request, byte[] signature) =>
        CryptographicOperations.FixedTimeEquals(Sign(request), signature);

    public override string ToString() => "ClusterSecret(***)";
}

/// <summary>What a node claims when it joins; the HMAC covers every field, so none can be altered.</summary>
public sealed record JoinRequest(string NodeId, Guid Incarnation, string Roles, string Address, int Slots)
{
    public byte[] CanonicalBytes() => Encoding.UTF8.GetBytes(string.Join(
        '\n',
        "basis-cluster-join/v1",
        NodeId,
        Incarnation.ToString("N"),
        Roles,
        Address,
        Slots.ToString(CultureInfo.InvariantCulture)));
}
