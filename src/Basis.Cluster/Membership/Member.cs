namespace Basis.Cluster.Membership;

/// <summary>A node's life: joining (waiting for admission), up, leaving (shutting down), down (left or declared dead), refused.</summary>
public enum MemberStatus
{
    Joining,
    Up,
    Leaving,
    Down,
    Refused,
}

/// <summary>One row of the membership table.</summary>
public sealed record Member(
    string NodeId,
    Guid Incarnation,
    string Roles,
    string Address,
    int Slots,
    MemberStatus Status,
    string? Reason,
    byte[] JoinHmac,
    DateTimeOffset JoinedAt,
    DateTimeOffset HeartbeatAt)
{
    public JoinRequest Request => new(NodeId, Incarnation, Roles, Address, Slots);
}

/// <summary>The status words of the membership table, also shown in the dashboard's nodes panel.</summary>
public static class MemberStatusText
{
    public static string ToText(this MemberStatus status) => status switch
    {
        MemberStatus.Joining => "joining",
        MemberStatus.Up => "up",
        MemberStatus.Leaving => "leaving",
        MemberStatus.Down => "down",
        MemberStatus.Refused => "refused",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static MemberStatus Parse(string text) => text switch
    {
        "joining" => MemberStatus.Joining,
        "up" => MemberStatus.Up,
        "leaving" => MemberStatus.Leaving,
        "down" => MemberStatus.Down,
        "refused" => MemberStatus.Refused,
        _ => throw new InvalidDataException($"cluster_member.status '{text}' is not a known status."),
    };
}
