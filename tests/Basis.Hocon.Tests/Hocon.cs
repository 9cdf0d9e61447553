namespace Basis.Hocon.Tests;

/// <summary>Parses test input with an empty, fake environment so that tests never depend on the machine.</summary>
internal static class Hocon
{
    public static HoconLoadSettings Settings(params (string Name, string Value)[] environment)
    {
        var variables = environment.ToDictionary(pair => pair.Name, pair => pair.Value);
        return new HoconLoadSettings { EnvironmentVariables = name => variables.GetValueOrDefault(name) };
    }

    public static HoconConfig Parse(string text, params (string Name, string Value)[] environment)
        => HoconConfig.Parse(text, "test.conf", Settings(environment));

    public static string Json(string text, params (string Name, string Value)[] environment)
        => Parse(text, environment).ToJson(indented: false);

    public static HoconException Error(string text, params (string Name, string Value)[] environment)
        => Assert.Throws<HoconException>(() => Parse(text, environment));
}
