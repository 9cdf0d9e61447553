using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Basis.Model.Tests")]
