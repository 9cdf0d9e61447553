using FsCheck;
using Microsoft.FSharp.Core;

namespace Basis.Estimators.Tests;

/// <summary>FsCheck runs with a fixed seed so every run tests the same cases.</summary>
internal static class PropertyConfig
{
    public static Config Fixed(ulong seed, int maxTest = 100) =>
        Config.QuickThrowOnFailure
            .WithMaxTest(maxTest)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed), FSharpOption<int>.None)));

    public static void CheckWith(this Property property, Config config) => Check.One(config, property);
}
