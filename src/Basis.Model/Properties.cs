using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Basis.Model.Tests")]
[assembly: InternalsVisibleTo("Basis.Model.Bench")]
