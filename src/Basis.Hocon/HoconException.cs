namespace Basis.Hocon;

/// <summary>
/// A configuration that cannot be read: a syntax error, an unresolved substitution, a cycle, a bad include or a
/// value of the wrong type. The message always starts with "file:line:column: " when the place is known.
/// </summary>
public sealed class HoconException : Exception
{
    public HoconException(HoconOrigin origin, string reason)
        : base($"{origin}: {reason}")
    {
        Origin = origin;
        Reason = reason;
    }

    public HoconException(HoconOrigin origin, string reason, Exception innerException)
        : base($"{origin}: {reason}", innerException)
    {
        Origin = origin;
        Reason = reason;
    }

    public HoconException(string reason)
        : base(reason)
    {
        Reason = reason;
    }

    /// <summary>The place the problem was found, when there is one.</summary>
    public HoconOrigin? Origin { get; }

    /// <summary>The message without the "file:line:column: " prefix.</summary>
    public string Reason { get; }
}
