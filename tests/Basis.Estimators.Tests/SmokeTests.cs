using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Basis.Estimators.Tests;

public class SmokeTests
{
    [Fact]
    public void FsCheckRuns()
    {
        Prop.ForAll<int>(x => x + 0 == x).QuickCheckThrowOnFailure();
    }
}
