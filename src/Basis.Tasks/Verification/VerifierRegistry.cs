namespace Basis.Tasks.Verification;

/// <summary>Verifiers by name. <see cref="CreateDefault"/> holds "exact", "gsm8k", "gsm8k-last-number", "boxed" and "countdown".</summary>
public sealed class VerifierRegistry
{
    private readonly Dictionary<string, IVerifier> _verifiers = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Names => _verifiers.Keys;

    public static VerifierRegistry CreateDefault(VerifierOptions? options = null)
    {
        var registry = new VerifierRegistry();
        registry.Register(new ExactNumericVerifier(options));
        registry.Register(new Gsm8kVerifier(options));
        registry.Register(new Gsm8kVerifier(options, lastNumberFallback: true));
        registry.Register(new BoxedMathVerifier(options));
        registry.Register(new CountdownVerifier(options));
        return registry;
    }

    /// <summary>Adds <paramref name="verifier"/> under its <see cref="IVerifier.Name"/>; names are unique.</summary>
    public void Register(IVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        if (!_verifiers.TryAdd(verifier.Name, verifier))
        {
            throw new ArgumentException($"A verifier named '{verifier.Name}' is already registered.", nameof(verifier));
        }
    }

    public bool TryGet(string name, out IVerifier verifier) => _verifiers.TryGetValue(name, out verifier!);

    public IVerifier Get(string name) =>
        _verifiers.TryGetValue(name, out IVerifier? verifier)
            ? verifier
            : throw new KeyNotFoundException($"Unknown verifier '{name}'; known: {string.Join(", ", _verifiers.Keys.Order(StringComparer.Ordinal))}.");
}
