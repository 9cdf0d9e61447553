using FsCheck;
using Microsoft.FSharp.Core;

namespace Basis.Tasks.Tests;

/// <summary>Runs FsCheck properties from a fixed seed so every test run checks the same cases.</summary>
internal static class FixedSeedProperty
{
    public static void CheckFixed(this Property property, ulong seed, int maxTest = 200) =>
        Check.One(
            Config.QuickThrowOnFailure
                .WithMaxTest(maxTest)
                .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed), FSharpOption<int>.None))),
            property);
}
