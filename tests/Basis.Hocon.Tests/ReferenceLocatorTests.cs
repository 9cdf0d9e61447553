using Basis.Hocon.Configuration;

namespace Basis.Hocon.Tests;

public sealed class ReferenceLocatorTests
{
    [Fact]
    public void Basis_home_wins_then_the_current_directory_then_the_folders_above_the_program()
    {
        using var temp = new TempDirectory();
        string home = temp.Write("home/hocon/reference.conf", "a = home");
        string current = temp.Write("cwd/hocon/reference.conf", "a = cwd");
        string above = temp.Write("install/hocon/reference.conf", "a = above");
        string program = Directory.CreateDirectory(Path.Combine(temp.Path, "install", "bin", "Release")).FullName;
        string empty = Directory.CreateDirectory(Path.Combine(temp.Path, "empty")).FullName;

        Assert.Equal(home, HoconConfiguration.LocateReferenceFile(Path.Combine(temp.Path, "cwd"), program, Env(Path.Combine(temp.Path, "home"))));
        Assert.Equal(current, HoconConfiguration.LocateReferenceFile(Path.Combine(temp.Path, "cwd"), program, Env(null)));
        Assert.Equal(above, HoconConfiguration.LocateReferenceFile(empty, program, Env(null)));
    }

    [Fact]
    public void Not_finding_it_says_where_it_looked_and_what_to_set()
    {
        using var temp = new TempDirectory();

        HoconException missing = Assert.Throws<HoconException>(() => HoconConfiguration.LocateReferenceFile(temp.Path, temp.Path, Env(null)));
        HoconException badHome = Assert.Throws<HoconException>(() => HoconConfiguration.LocateReferenceFile(temp.Path, temp.Path, Env(temp.Path)));

        Assert.Contains("cannot find hocon/reference.conf; set BASIS_HOME", missing.Message);
        Assert.Contains(Path.Combine(temp.Path, "hocon", "reference.conf"), missing.Message);
        Assert.Equal($"BASIS_HOME is set to '{temp.Path}' but {Path.Combine(temp.Path, "hocon", "reference.conf")} does not exist", badHome.Message);
    }

    [Fact]
    public void Load_layers_the_reference_under_the_given_files()
    {
        using var temp = new TempDirectory();
        string reference = temp.Write("hocon/reference.conf", "basis { steps = 10, dir = runs, db = ${basis.dir}/db }");
        string user = temp.Write("user.conf", "basis.dir = /x");

        var configuration = HoconConfiguration.Load([user], reference, Hocon.Settings());

        Assert.Equal("10", configuration["basis:steps"]);
        Assert.Equal("/x/db", configuration["basis:db"]);
        Assert.Equal("/x/db", HoconConfiguration.LoadTree([user], reference, Hocon.Settings()).GetString("basis.db"));
    }

    private static Func<string, string?> Env(string? home) => name => name == HoconConfiguration.HomeVariable ? home : null;
}
