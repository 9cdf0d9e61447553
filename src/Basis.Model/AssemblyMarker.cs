namespace Basis.Model;
internal static class AssemblyMarker { }
