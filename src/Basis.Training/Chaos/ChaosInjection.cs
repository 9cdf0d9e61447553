using Basis.Tasks.Verification;
using Basis.Training.Graph;

namespace Basis.Training.Chaos;

/// <summary>Applies <see cref="ChaosSettings"/> to the training graph's verifiers and workers; with chaos off it returns them unchanged.</summary>
public static class ChaosInjection
{
    public static VerifierRegistry Verifiers(VerifierRegistry registry, ChaosSettings settings)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.VerifierFailureRate <= 0)
        {
            return registry;
        }

        var wrapped = new VerifierRegistry();
        foreach (string name in registry.Names)
        {
            wrapped.Register(new ChaosVerifier(registry.Get(name), settings.VerifierFailureRate, settings.Seed));
        }

        return wrapped;
    }

    public static IRolloutWorker Worker(IRolloutWorker worker, ChaosSettings settings)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(settings);
        return settings.GeneratorCrashEvery > 0 ? new ChaosRolloutWorker(worker, settings.GeneratorCrashEvery) : worker;
    }
}
