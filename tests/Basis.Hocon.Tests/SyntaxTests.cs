namespace Basis.Hocon.Tests;

public sealed class SyntaxTests
{
    [Theory]
    [InlineData("a = 1 # hash comment\nb = 2", """{"a":1,"b":2}""")]
    [InlineData("a = 1 // slash comment\n// whole line\nb = 2", """{"a":1,"b":2}""")]
    [InlineData("{ a = 1 }", """{"a":1}""")]
    [InlineData("a = 1, b = 2,", """{"a":1,"b":2}""")]
    [InlineData("a : 1\nb = 2\nc { d = 3 }", """{"a":1,"b":2,"c":{"d":3}}""")]
    [InlineData("a.b.c = 1", """{"a":{"b":{"c":1}}}""")]
    [InlineData("\"a.b\".c = 1", """{"a.b":{"c":1}}""")]
    [InlineData("a . \"b\" = 1", """{"a ":{" b":1}}""")]
    [InlineData("x y = 1", """{"x y":1}""")]
    [InlineData("\"\" = 1", """{"":1}""")]
    [InlineData("a = [1, 2,]", """{"a":[1,2]}""")]
    [InlineData("a = [\n1\n2\n]", """{"a":[1,2]}""")]
    [InlineData("a = {}", """{"a":{}}""")]
    [InlineData("include = 5", """{"include":5}""")]
    public void Parses_structure(string input, string expected) => Assert.Equal(expected, Hocon.Json(input));

    [Theory]
    [InlineData("a = 42", """{"a":42}""")]
    [InlineData("a = -1.5e+3", """{"a":-1.5e+3}""")]
    [InlineData("a = 0.25", """{"a":0.25}""")]
    [InlineData("a = true, b = false, c = null", """{"a":true,"b":false,"c":null}""")]
    [InlineData("a = on, b = yes", """{"a":"on","b":"yes"}""")]
    [InlineData("a = 10s", """{"a":"10s"}""")]
    [InlineData("a = 01", """{"a":"01"}""")]
    [InlineData("a = \"42\"", """{"a":"42"}""")]
    [InlineData("a = \"tab\\there \\u0041 \\\"q\\\" \\\\ \\/\"", """{"a":"tab\there A \"q\" \\ /"}""")]
    [InlineData("a = \"\"\"multi\nline \"quoted\" \\n raw\"\"\"", """{"a":"multi\nline \"quoted\" \\n raw"}""")]
    [InlineData("a = \"\"\"x\"\"\"\"", """{"a":"x\""}""")]
    [InlineData("a = http.example/path", """{"a":"http.example/path"}""")]
    public void Parses_scalars(string input, string expected) => Assert.Equal(expected, Hocon.Json(input));

    [Theory]
    [InlineData("a = foo bar  baz", """{"a":"foo bar  baz"}""")]
    [InlineData("a = null bar 42 \"baz\" true 3.14", """{"a":"null bar 42 baz true 3.14"}""")]
    [InlineData("a = \"x\"\"y\"", """{"a":"xy"}""")]
    [InlineData("a = [1] [2, 3]", """{"a":[1,2,3]}""")]
    [InlineData("a = { x = 1 } { y = 2 }", """{"a":{"x":1,"y":2}}""")]
    [InlineData("a = { x = 1, y = 1 } { y = 2 }", """{"a":{"x":1,"y":2}}""")]
    [InlineData("a = [1 2]", """{"a":["1 2"]}""")]
    [InlineData("b = x, a = ${b} \"-\" ${b}", """{"b":"x","a":"x - x"}""")]
    public void Concatenates_values(string input, string expected) => Assert.Equal(expected, Hocon.Json(input));

    [Theory]
    [InlineData("a { x = 1 }, a { y = 2 }", """{"a":{"x":1,"y":2}}""")]
    [InlineData("a { x = 1 }, a = 5", """{"a":5}""")]
    [InlineData("a = 5, a { x = 1 }", """{"a":{"x":1}}""")]
    [InlineData("a { x = 1 }, a = null, a { y = 2 }", """{"a":{"y":2}}""")]
    [InlineData("a.b { x = 1 }, a { b { y = 2 } }", """{"a":{"b":{"x":1,"y":2}}}""")]
    [InlineData("a = 1, b = 2, a = 3", """{"a":3,"b":2}""")]
    public void Merges_duplicate_keys(string input, string expected) => Assert.Equal(expected, Hocon.Json(input));

    [Fact]
    public void Keeps_the_origin_of_each_value()
    {
        HoconConfig config = Hocon.Parse("a {\n  b = 1\n  c = [\n    \"x\"\n  ]\n}");

        Assert.Equal(new HoconOrigin("test.conf", 2, 7), config.GetOrigin("a.b"));
        Assert.Equal(new HoconOrigin("test.conf", 3, 7), config.GetOrigin("a.c"));
        Assert.Equal(new HoconOrigin("test.conf", 4, 5), ((HoconArray)config.GetValue("a.c"))[0].Origin);
    }

    [Fact]
    public void Tolerates_crlf_line_endings_and_a_byte_order_mark()
        => Assert.Equal("""{"a":1,"b":"x"}""", Hocon.Json("\uFEFFa = 1\r\nb = x\r\n"));

    [Fact]
    public void Any_json_document_parses_to_the_same_tree()
    {
        Gen<string> scalar = Gen.OneOf(
            Gen.Choose(-1000, 1000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Gen.Elements("true", "false", "null", "0.5", "-2.25e3"),
            Gen.Elements("", "a", "with space", "quote\"d", "back\\slash", "new\nline", "uni\u00e9", "#not comment", "${not.subst}")
                .Select(s => System.Text.Json.JsonSerializer.Serialize(s)));
        Gen<string> keys = Gen.Elements("a", "b", "c.d", "e f", "1", "include", "\u00fc");
        Gen<string> value = Gen.Sized(size => Tree(Math.Min(size, 4)));
        Prop.ForAll(Arb.From(value), json =>
        {
            using var expected = System.Text.Json.JsonDocument.Parse(json);
            HoconConfig actual = Hocon.Parse(json);
            JsonTree.AssertEquivalent(expected.RootElement, actual.Root);
        }).QuickCheckThrowOnFailure();

        Gen<string> Tree(int depth)
        {
            Gen<string> obj = Gen.ListOf(Gen.Zip(keys, depth > 0 ? Gen.Sized(_ => Node(depth - 1)) : scalar))
                .Select(fields => "{" + string.Join(",", fields
                    .DistinctBy(field => field.Item1)
                    .Select(field => System.Text.Json.JsonSerializer.Serialize(field.Item1) + ":" + field.Item2)) + "}");
            return obj;
        }

        Gen<string> Node(int depth) => depth == 0
            ? scalar
            : Gen.Frequency(
                (3, scalar),
                (1, Tree(depth)),
                (1, Gen.ListOf(Node(depth - 1)).Select(items => "[" + string.Join(",", items) + "]")));
    }
}
