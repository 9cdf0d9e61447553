namespace Basis.Hocon.Tests;

public sealed class SubstitutionTests
{
    [Theory]
    [InlineData("a = 1, b = ${a}", """{"a":1,"b":1}""")]
    [InlineData("b = ${a}, a = 1", """{"b":1,"a":1}""")]
    [InlineData("a { x = 1 }, b = ${a}", """{"a":{"x":1},"b":{"x":1}}""")]
    [InlineData("a { x = ${a.y}, y = 2 }", """{"a":{"x":2,"y":2}}""")]
    [InlineData("\"a.b\" = 1, c = ${\"a.b\"}", """{"a.b":1,"c":1}""")]
    [InlineData("bar { foo = 42, baz = ${bar.foo} }, bar { foo = 43 }", """{"bar":{"foo":43,"baz":43}}""")]
    [InlineData("a = ${?missing}", """{}""")]
    [InlineData("a = 1, a = ${?missing}", """{"a":1}""")]
    [InlineData("a { x = 1 }, b { y = 2 }, a = ${b}", """{"a":{"x":1,"y":2},"b":{"y":2}}""")]
    [InlineData("a { x = 1 }, a = ${?missing}, a { y = 2 }", """{"a":{"x":1,"y":2}}""")]
    [InlineData("a = [${?missing}, 1]", """{"a":[1]}""")]
    [InlineData("a = null, b = ${a}", """{"a":null,"b":null}""")]
    [InlineData("a = x, b = ${a}${a}", """{"a":"x","b":"xx"}""")]
    public void Resolves_substitutions(string input, string expected) => Assert.Equal(expected, Hocon.Json(input));

    [Theory]
    [InlineData("a = [1], a = ${a} [2]", """{"a":[1,2]}""")]
    [InlineData("a = [1], a = ${a} [2], a = ${a} [3]", """{"a":[1,2,3]}""")]
    [InlineData("a { x = 1 }, a = ${a} { y = 2 }", """{"a":{"x":1,"y":2}}""")]
    [InlineData("p = /bin, p = ${p}\":/usr/bin\"", """{"p":"/bin:/usr/bin"}""")]
    [InlineData("a = [1], b = ${a}, a = ${a} [2]", """{"a":[1,2],"b":[1,2]}""")]
    [InlineData("a { b = 1 }, a.b = ${a.b}0", """{"a":{"b":"10"}}""")]
    [InlineData("a { x = 1 }, a = ${a} { y = 2 }, a { z = 3 }", """{"a":{"x":1,"y":2,"z":3}}""")]
    [InlineData("a = ${?a} [1]", """{"a":[1]}""")]
    public void Self_references_see_the_earlier_value(string input, string expected) => Assert.Equal(expected, Hocon.Json(input));

    [Theory]
    [InlineData("a += 1", """{"a":[1]}""")]
    [InlineData("a = [0], a += 1, a += 2", """{"a":[0,1,2]}""")]
    [InlineData("a = [0]\nb { c += x }\na += ${b.c}", """{"a":[0,["x"]],"b":{"c":["x"]}}""")]
    public void Plus_equals_appends(string input, string expected) => Assert.Equal(expected, Hocon.Json(input));

    [Fact]
    public void Environment_variables_are_the_fallback()
    {
        Assert.Equal("""{"home":"/home/me","p":"/bin:/x"}""", Hocon.Json("home = ${HOME}, p = ${PATH}\":/x\"", ("HOME", "/home/me"), ("PATH", "/bin")));
        Assert.Equal("""{"secret":"s3"}""", Hocon.Json("secret = ${?BASIS_SECRET}", ("BASIS_SECRET", "s3")));
    }

    [Fact]
    public void Configuration_wins_over_the_environment()
    {
        HoconConfig config = Hocon.Parse("HOME = from-config\nhome = ${HOME}", ("HOME", "/home/me"));
        Assert.Equal("from-config", config.GetString("home"));
    }

    [Fact]
    public void Layers_merge_before_resolving()
    {
        using var temp = new TempDirectory();
        string reference = temp.Write("reference.conf", "basis { dir = runs, db = ${basis.dir}\"/journal.db\", list = [1] }");
        string user = temp.Write("user.conf", "basis.dir = /tmp/run\nbasis.list += 2\nbasis.extra = ${basis.db}");

        HoconConfig config = HoconConfig.LoadFiles([reference, user], Hocon.Settings());

        Assert.Equal("/tmp/run/journal.db", config.GetString("basis.db"));
        Assert.Equal("/tmp/run/journal.db", config.GetString("basis.extra"));
        Assert.Equal("""[1,2]""", System.Text.Json.JsonSerializer.Serialize(((HoconArray)config.GetValue("basis.list")).Select(v => int.Parse(v.ToString()!, System.Globalization.CultureInfo.InvariantCulture))));
        Assert.Equal(new HoconOrigin(user, 1, 13), config.GetOrigin("basis.dir"));
    }
}
