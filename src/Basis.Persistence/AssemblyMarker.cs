namespace Basis.Persistence;
internal static class AssemblyMarker { }
