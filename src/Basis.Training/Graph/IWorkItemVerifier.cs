using Basis.Tasks.Verification;

namespace Basis.Training.Graph;

/// <summary>
/// A verifier that also wants to know which rollout it scores (step, slot, seed): the graph calls
/// this overload when a registered verifier implements it. Chaos injection uses it to fail a
/// rollout chosen by (step, slot) whichever verifier thread scores it.
/// </summary>
public interface IWorkItemVerifier : IVerifier
{
    VerificationResult Verify(WorkItem work, string completion, string gold);
}
