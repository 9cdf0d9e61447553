namespace Basis.Hocon;
internal static class AssemblyMarker { }
