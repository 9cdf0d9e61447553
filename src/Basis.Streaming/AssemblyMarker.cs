namespace Basis.Streaming;
internal static class AssemblyMarker { }
