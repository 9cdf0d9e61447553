namespace Basis.Rollouts;
internal static class AssemblyMarker { }
