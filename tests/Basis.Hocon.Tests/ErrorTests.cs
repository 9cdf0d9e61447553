namespace Basis.Hocon.Tests;

public sealed class ErrorTests
{
    [Theory]
    [InlineData("a = 1\nb = \"open", 2, 5, "unterminated quoted string")]
    [InlineData("a = \"line\nbreak\"", 1, 5, "use \"\"\"triple quotes\"\"\"")]
    [InlineData("a = \"\"\"never closed", 1, 5, "unterminated triple-quoted string")]
    [InlineData("a {\n  b = 1\n", 3, 1, "closes the object opened at line 1, column 3")]
    [InlineData("a = [1, 2", 1, 10, "closes the array opened at line 1, column 5")]
    [InlineData("a = 1\n}", 2, 1, "unexpected '}'")]
    [InlineData("a\n1", 2, 1, "expected ':', '=' or '{' after the key 'a'")]
    [InlineData("a =", 1, 4, "expected a value for 'a'")]
    [InlineData("a = 1,, b = 2", 1, 7, "two commas in a row")]
    [InlineData("a = [1,, 2]", 1, 8, "two commas in a row")]
    [InlineData("a = 1 b = 2", 1, 9, "unexpected '=' in the value of 'a'")]
    [InlineData("url = http://example.com", 1, 11, "unexpected ':' in the value of 'url'")]
    [InlineData("a = x@y", 1, 6, "the character '@' is reserved")]
    [InlineData("a = 1 + 2", 1, 7, "'+' is only allowed as part of '+='")]
    [InlineData("a = $x", 1, 5, "'$' is reserved for substitutions")]
    [InlineData("a = ${b", 1, 5, "unterminated substitution")]
    [InlineData("a = ${b..c}", 1, 5, "empty path element")]
    [InlineData("a..b = 1", 1, 1, "empty path element")]
    [InlineData("a. = 1", 1, 1, "it ends with '.'")]
    [InlineData("a = \"\\q\"", 1, 6, "invalid escape '\\q'")]
    [InlineData("a = \"\\u12\"", 1, 6, "invalid \\u escape")]
    [InlineData("[1, 2]", 1, 1, "must be an object, not an array")]
    [InlineData("{ a = 1 } b = 2", 1, 11, "after the closing '}' of the root object")]
    [InlineData("a = [1] x", 1, 9, "cannot concatenate an array with a string in 'a'")]
    [InlineData("a = { x = 1 } [2]", 1, 15, "cannot concatenate an object with an array in 'a'")]
    [InlineData("a = 1\u0001", 1, 6, "unexpected control character U+0001")]
    public void Syntax_errors_name_file_line_and_column(string input, int line, int column, string expected)
    {
        HoconException error = Hocon.Error(input);

        Assert.Equal(new HoconOrigin("test.conf", line, column), error.Origin);
        Assert.StartsWith($"test.conf:{line}:{column}: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Unresolved_substitution_names_place_key_and_setting()
    {
        HoconException error = Hocon.Error("a {\n  b = ${missing.value}\n}");

        Assert.Equal("test.conf:2:7: unresolved substitution ${missing.value} in 'a.b': no setting 'missing.value' and no environment variable 'missing.value' (use ${?missing.value} if it may be absent)", error.Message);
    }

    [Fact]
    public void Self_reference_without_an_earlier_value_is_unresolved()
        => Assert.Contains("unresolved substitution ${a}", Hocon.Error("a = ${a}").Message);

    [Theory]
    [InlineData("a = ${b}\nb = ${a}", "a -> b -> a", 1, 5)]
    [InlineData("a = ${b}\nb = ${c}\nc = ${a}", "a -> b -> c -> a", 1, 5)]
    [InlineData("x { a = ${x} }", "x -> x.a -> x", 1, 9)]
    public void A_cycle_names_its_keys(string input, string cycle, int line, int column)
    {
        HoconException error = Hocon.Error(input);

        Assert.Contains($"substitution cycle: {cycle}", error.Message);
        Assert.NotNull(error.Origin);
        Assert.Equal("test.conf", error.Origin.Value.Source);
        Assert.True(error.Origin.Value.Line >= line && error.Origin.Value.Column >= column - 4, error.Message);
    }

    [Fact]
    public void Getters_name_key_and_origin_of_a_wrong_type()
    {
        HoconConfig config = Hocon.Parse("a {\n  steps = lots\n}");

        HoconException error = Assert.Throws<HoconException>(() => config.GetInt32("a.steps"));

        Assert.Equal("test.conf:2:11: 'a.steps' must be a 32-bit integer, but it is a string \"lots\"", error.Message);
        Assert.Contains("missing setting 'a.nothing'", Assert.Throws<HoconException>(() => config.GetString("a.nothing")).Message);
    }

    [Theory]
    [InlineData("a = {")]
    [InlineData("a = [")]
    [InlineData("a = \"")]
    [InlineData("a = \"\"\"")]
    [InlineData("a = ${")]
    [InlineData("a.")]
    [InlineData("a = \"\\")]
    [InlineData("a = \"\\u")]
    [InlineData("{")]
    [InlineData("a { b { c [ { d = ")]
    public void Truncated_input_is_a_clear_error(string input)
    {
        HoconException error = Hocon.Error(input);

        Assert.NotNull(error.Origin);
        Assert.StartsWith("test.conf:1:", error.Message);
    }

    [Fact]
    public void Every_prefix_of_a_real_file_parses_or_fails_with_a_located_error()
    {
        string text = File.ReadAllText(Path.Combine(TestPaths.ConformanceDirectory, "equiv01", "comments.conf"));
        for (int length = 0; length <= text.Length; length += 7)
        {
            try
            {
                Hocon.Parse(text[..length]);
            }
            catch (HoconException e)
            {
                Assert.NotNull(e.Origin);
                Assert.True(e.Origin.Value.Line >= 1, $"prefix {length}: {e.Message}");
            }
        }
    }

    [Fact]
    public void Deep_nesting_is_refused_without_overflowing_the_stack()
    {
        string braces = "a = " + string.Concat(Enumerable.Repeat("{a=", 100_000)) + new string('}', 100_000);
        string brackets = "a = " + new string('[', 100_000);
        string keys = "a = 1\n" + string.Concat(Enumerable.Range(0, 100_000).Select(i => "x {"));

        foreach (string input in new[] { braces, brackets, keys })
        {
            HoconException error = Hocon.Error(input);
            Assert.True(error.Message.Contains("nested more than 256 levels deep", StringComparison.Ordinal), error.Message);
            Assert.Equal(input == keys ? 2 : 1, error.Origin?.Line);
        }

        // Bare braces are not HOCON at all; they still give a located error, not a crash.
        HoconException bare = Hocon.Error(new string('{', 100_000));
        Assert.Equal(new HoconOrigin("test.conf", 1, 2), bare.Origin);

        // Just inside the limit still works.
        string deepest = "a = " + new string('[', 255) + "1" + new string(']', 255);
        Assert.Equal(255, Depth(Hocon.Parse(deepest).GetValue("a")));
    }

    [Fact]
    public void Long_substitution_chains_are_refused_without_overflowing_the_stack()
    {
        string chain = string.Join("\n", Enumerable.Range(0, 100_000).Select(i => $"k{i} = ${{k{i + 1}}}")) + "\nk100000 = 1";

        HoconException error = Hocon.Error(chain);

        Assert.Contains("needs more than 512 nested values and substitutions", error.Message);
    }

    [Fact]
    public void Binary_files_are_refused_with_the_offending_line()
    {
        using var temp = new TempDirectory();
        string path = Path.Combine(temp.Path, "model.conf");
        var bytes = new List<byte>("a = 1\nb = 2\n"u8.ToArray());
        bytes.AddRange([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0xFF, 0x00]);
        File.WriteAllBytes(path, [.. bytes]);

        HoconException error = Assert.Throws<HoconException>(() => HoconConfig.ParseFile(path, Hocon.Settings()));

        Assert.Equal($"{path}:3:1: the file is not valid UTF-8 text (is it a binary file?)", error.Message);
    }

    [Fact]
    public void Random_bytes_never_escape_as_anything_but_a_HoconException()
    {
        const string Alphabet = "{}[]=:,+\"$?#/\\ \n\tab1.-e";
        var random = new Random(1234);
        for (int i = 0; i < 2000; i++)
        {
            char[] chars = new char[random.Next(1, 80)];
            for (int j = 0; j < chars.Length; j++)
            {
                chars[j] = Alphabet[random.Next(Alphabet.Length)];
            }

            try
            {
                Hocon.Parse(new string(chars));
            }
            catch (Exception e)
            {
                Assert.True(e is HoconException { Origin: not null }, $"{new string(chars)}: {e}");
            }
        }
    }

    [Fact]
    public void A_missing_configuration_file_is_named()
    {
        HoconException error = Assert.Throws<HoconException>(() => HoconConfig.ParseFile("does/not/exist.conf", Hocon.Settings()));

        Assert.Equal("does/not/exist.conf: configuration file not found", error.Message);
    }

    private static int Depth(HoconValue value) => value is HoconArray { Count: 1 } array ? 1 + Depth(array[0]) : 0;
}
