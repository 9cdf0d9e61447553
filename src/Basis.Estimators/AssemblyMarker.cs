namespace Basis.Estimators;
internal static class AssemblyMarker { }
