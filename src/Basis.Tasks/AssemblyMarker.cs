namespace Basis.Tasks;
internal static class AssemblyMarker { }
