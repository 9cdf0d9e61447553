namespace Basis.Hocon.Tests;

public sealed class IncludeTests
{
    [Fact]
    public void Includes_are_relative_to_the_including_file_and_merge_in_place()
    {
        using var temp = new TempDirectory();
        temp.Write("conf/base.conf", "x = 1\ny = 1\ninclude \"sub/inner.conf\"");
        temp.Write("conf/sub/inner.conf", "inner = true");
        string main = temp.Write("conf/main.conf", "y = 0\ninclude \"base.conf\"\nz { include file(\"sub/inner.conf\") }\nx = 2");

        Assert.Equal("""{"y":1,"x":2,"inner":true,"z":{"inner":true}}""", HoconConfig.ParseFile(main, Hocon.Settings()).ToJson(indented: false));
    }

    [Fact]
    public void An_include_without_extension_merges_conf_json_and_properties()
    {
        using var temp = new TempDirectory();
        temp.Write("c.conf", "a = conf\nonly-conf = 1");
        temp.Write("c.json", """{ "a": "json", "only-json": 2, "b": "json" }""");
        temp.Write("c.properties", "a=props\nb=props\nonly.props=3");
        string main = temp.Write("main.conf", "include \"c\"");

        HoconConfig config = HoconConfig.ParseFile(main, Hocon.Settings());

        Assert.Equal("conf", config.GetString("a"));
        Assert.Equal("json", config.GetString("b"));
        Assert.Equal(1, config.GetInt32("only-conf"));
        Assert.Equal(2, config.GetInt32("only-json"));
        Assert.Equal("3", config.GetString("only.props"));
    }

    [Fact]
    public void Properties_files_follow_java_rules()
    {
        using var temp = new TempDirectory();
        temp.Write("p.properties", "# comment\n! also comment\na.b = one\nc: two\nd three\nlong = x\\\n  y\nuni=\\u0041\\t\n");
        string main = temp.Write("main.conf", "include \"p.properties\"");

        Assert.Equal("""{"a":{"b":"one"},"c":"two","d":"three","long":"xy","uni":"A\t"}""", HoconConfig.ParseFile(main, Hocon.Settings()).ToJson(indented: false));
    }

    [Fact]
    public void A_missing_include_is_ignored_unless_required()
    {
        using var temp = new TempDirectory();
        string lenient = temp.Write("lenient.conf", "include \"nothere\"\ninclude file(\"nothere.conf\")\na = 1");
        string strict = temp.Write("strict.conf", "a = 1\ninclude required(file(\"nothere.conf\"))");

        Assert.Equal("""{"a":1}""", HoconConfig.ParseFile(lenient, Hocon.Settings()).ToJson(indented: false));
        HoconException error = Assert.Throws<HoconException>(() => HoconConfig.ParseFile(strict, Hocon.Settings()));
        Assert.StartsWith($"{strict}:2:1: required include \"nothere.conf\" not found", error.Message);
    }

    [Fact]
    public void Required_include_of_an_existing_file_works_with_spaces()
    {
        using var temp = new TempDirectory();
        temp.Write("there.conf", "a = 1");
        string main = temp.Write("main.conf", "include required( file( \"there.conf\" ) )\ninclude required(\"there.conf\")");

        Assert.Equal(1, HoconConfig.ParseFile(main, Hocon.Settings()).GetInt32("a"));
    }

    [Theory]
    [InlineData("include url(\"http://example.com/a.conf\")", "include url(\"http://example.com/a.conf\") is not supported")]
    [InlineData("include \"https://example.com/a.conf\"", "is not supported: configuration is read only from local files")]
    [InlineData("include classpath(\"a.conf\")", "include classpath(\"a.conf\") is not supported")]
    [InlineData("include file(\"a.conf\"", "expected ')' to close 'file('")]
    [InlineData("include bogus(\"a.conf\")", "unknown include kind 'bogus('")]
    [InlineData("include file(required(\"a.conf\"))", "required(...) must be the outermost")]
    public void Unsupported_or_malformed_includes_are_refused_clearly(string input, string expected)
    {
        HoconException error = Hocon.Error(input);

        Assert.Contains(expected, error.Message);
        Assert.StartsWith("test.conf:1:", error.Message);
    }

    [Fact]
    public void An_include_cycle_is_named()
    {
        using var temp = new TempDirectory();
        temp.Write("a.conf", "include \"b.conf\"");
        temp.Write("b.conf", "include \"a.conf\"");

        HoconException error = Assert.Throws<HoconException>(() => HoconConfig.ParseFile(Path.Combine(temp.Path, "a.conf"), Hocon.Settings()));

        Assert.Contains("include cycle: a.conf -> b.conf -> a.conf", error.Message);
    }

    [Fact]
    public void Substitutions_in_an_included_file_look_at_the_include_location_then_the_root()
    {
        using var temp = new TempDirectory();
        temp.Write("inc.conf", "local = here\nfrom-local = ${local}\nfrom-root = ${top}\nlist += 1");
        string main = temp.Write("main.conf", "top = root-value\nsub { list = [0]\n include \"inc.conf\" }");

        HoconConfig config = HoconConfig.ParseFile(main, Hocon.Settings());

        Assert.Equal("here", config.GetString("sub.from-local"));
        Assert.Equal("root-value", config.GetString("sub.from-root"));
        Assert.Equal(["0", "1"], config.GetStringList("sub.list"));
    }

    [Fact]
    public void Errors_in_an_included_file_name_that_file()
    {
        using var temp = new TempDirectory();
        string bad = temp.Write("bad.conf", "ok = 1\nbroken = [");
        string main = temp.Write("main.conf", "include \"bad.conf\"");

        HoconException error = Assert.Throws<HoconException>(() => HoconConfig.ParseFile(main, Hocon.Settings()));

        Assert.StartsWith($"{bad}:2:11: ", error.Message);
    }

    [Fact]
    public void Includes_in_string_sources_are_relative_to_the_base_directory()
    {
        using var temp = new TempDirectory();
        temp.Write("x.conf", "x = 1");
        var settings = new HoconLoadSettings { BaseDirectory = temp.Path, EnvironmentVariables = _ => null };

        Assert.Equal(1, HoconConfig.Parse("include \"x.conf\"", "inline", settings).GetInt32("x"));
    }
}
