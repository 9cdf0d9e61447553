using System.ComponentModel.DataAnnotations;
using Basis.Hocon.Configuration;
using Microsoft.Extensions.Configuration;

namespace Basis.Hocon.Tests;

public sealed class ConfigurationProviderTests
{
    [Fact]
    public void Keys_use_colons_and_arrays_use_indexes()
    {
        IConfigurationRoot configuration = new ConfigurationBuilder()
            .AddHoconString("basis { train { batch-size = 64, temperature = 0.7, tags = [a, b] }, on = true, nothing = null, empty = {} }", "inline.conf")
            .Build();

        Assert.Equal("64", configuration["basis:train:batch-size"]);
        Assert.Equal("0.7", configuration["basis:train:temperature"]);
        Assert.Equal("a", configuration["basis:train:tags:0"]);
        Assert.Equal("b", configuration["basis:train:tags:1"]);
        Assert.Equal("true", configuration["basis:on"]);
        Assert.Null(configuration["basis:nothing"]);
        Assert.Equal(["a", "b"], configuration.GetSection("basis:train:tags").Get<string[]>()!);
    }

    [Fact]
    public void Consecutive_hocon_layers_resolve_substitutions_across_files()
    {
        using var temp = new TempDirectory();
        string reference = temp.Write("reference.conf", "basis { run-dir = runs/x, db = ${basis.run-dir}\"/journal.db\", list = [1] }");
        string user = temp.Write("user.conf", "basis { run-dir = /data\nlist += 2 }");

        IConfigurationRoot configuration = new ConfigurationBuilder().AddHoconFile(reference).AddHoconFile(user).AddHoconFile("missing.conf", optional: true).Build();

        Assert.Single(configuration.Providers);
        Assert.Equal("/data/journal.db", configuration["basis:db"]);
        Assert.Equal("2", configuration["basis:list:1"]);
        Assert.True(HoconConfiguration.TryGetOrigin(configuration, "basis:run-dir", out HoconOrigin origin));
        Assert.Equal(new HoconOrigin(user, 1, 19), origin);
        Assert.True(HoconConfiguration.TryGetOrigin(configuration, "BASIS:LIST", out _));
        Assert.False(HoconConfiguration.TryGetOrigin(configuration, "basis:unknown", out _));
    }

    [Fact]
    public void A_bad_file_fails_the_build_with_its_location()
    {
        using var temp = new TempDirectory();
        string bad = temp.Write("bad.conf", "a = {");

        HoconException error = Assert.Throws<HoconException>(() => new ConfigurationBuilder().AddHoconFile(bad).Build());

        Assert.StartsWith($"{bad}:1:6: ", error.Message);
        Assert.Throws<HoconException>(() => new ConfigurationBuilder().AddHoconFile(Path.Combine(temp.Path, "absent.conf")).Build());
    }

    [Fact]
    public void Binds_kebab_case_keys_durations_sizes_and_nested_options()
    {
        IConfigurationRoot configuration = new ConfigurationBuilder()
            .AddHoconString("""
                basis.train {
                  batch-size = 64
                  learning-rate = 1e-4
                  loss = gspo
                  eval-timeout = 2 minutes
                  memory = 512 MiB
                  whiten = on
                  supervision { max-restarts = 5, backoff-max = 10s }
                  estimators = [basis, grpo]
                }
                """, "train.conf")
            .Build();

        TrainOptions options = HoconOptions.BindAndValidate<TrainOptions>(configuration, "basis:train");

        Assert.Equal(64, options.BatchSize);
        Assert.Equal(1e-4, options.LearningRate);
        Assert.Equal(LossKind.Gspo, options.Loss);
        Assert.Equal(TimeSpan.FromMinutes(2), options.EvalTimeout);
        Assert.Equal(512L << 20, options.Memory.Bytes);
        Assert.True(options.Whiten);
        Assert.Equal(5, options.Supervision.MaxRestarts);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Supervision.BackoffMax);
        Assert.Equal(["basis", "grpo"], options.Estimators);
    }

    [Fact]
    public void An_invalid_value_names_its_hocon_key_file_and_line()
    {
        using var temp = new TempDirectory();
        string reference = temp.Write("reference.conf", "basis.train { batch-size = 64, learning-rate = 0.1 }");
        string user = temp.Write("user.conf", "basis.train {\n  batch-size = 0\n  supervision.max-restarts = -1\n}");
        IConfigurationRoot configuration = new ConfigurationBuilder().AddHoconFile(reference).AddHoconFile(user).Build();

        HoconOptionsException error = Assert.Throws<HoconOptionsException>(() => HoconOptions.BindAndValidate<TrainOptions>(configuration, "basis:train"));

        Assert.Equal(2, error.Errors.Count);
        Assert.Equal("basis.train.batch-size", error.Errors[0].Key);
        Assert.Equal(new HoconOrigin(user, 2, 16), error.Errors[0].Origin);
        Assert.Contains($"basis.train.batch-size = \"0\" (set at {user}:2:16): The field BatchSize must be between 1 and 4096.", error.Message);
        Assert.Equal("basis.train.supervision.max-restarts", error.Errors[1].Key);
        Assert.Equal(new HoconOrigin(user, 3, 30), error.Errors[1].Origin);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_its_key_and_origin()
    {
        IConfigurationRoot configuration = new ConfigurationBuilder().AddHoconString("basis.train {\n  batch-size = lots\n}", "user.conf").Build();

        HoconOptionsException error = Assert.Throws<HoconOptionsException>(() => HoconOptions.BindAndValidate<TrainOptions>(configuration, "basis:train"));

        HoconOptionsError only = Assert.Single(error.Errors);
        Assert.Equal("basis.train.batch-size", only.Key);
        Assert.Equal(new HoconOrigin("user.conf", 2, 16), only.Origin);
        Assert.StartsWith("invalid configuration: basis.train.batch-size = \"lots\" (set at user.conf:2:16): cannot be read as an integer", error.Message);
    }

    [Fact]
    public void A_missing_required_setting_is_named_as_it_would_be_written()
    {
        IConfigurationRoot configuration = new ConfigurationBuilder().AddHoconString("basis.cluster { role = rollout }", "user.conf").Build();

        HoconOptionsException error = Assert.Throws<HoconOptionsException>(() => HoconOptions.BindAndValidate<ClusterOptions>(configuration, "basis:cluster"));

        Assert.Equal("basis.cluster.shared-secret", Assert.Single(error.Errors).Key);
        Assert.Contains("(not set in any configuration file)", error.Message);
    }

    public enum LossKind
    {
        Ppo,
        Gspo,
        Gpg,
    }

    public sealed class TrainOptions
    {
        [Range(1, 4096)]
        public int BatchSize { get; set; } = 1;

        [Range(1e-8, 1.0)]
        public double LearningRate { get; set; } = 1e-3;

        public LossKind Loss { get; set; }

        public TimeSpan EvalTimeout { get; set; }

        public ByteSize Memory { get; set; }

        public bool Whiten { get; set; }

        public SupervisionOptions Supervision { get; set; } = new();

        public List<string> Estimators { get; set; } = [];
    }

    public sealed class SupervisionOptions
    {
        [Range(0, 100)]
        public int MaxRestarts { get; set; } = 3;

        public TimeSpan BackoffMax { get; set; } = TimeSpan.FromSeconds(1);
    }

    public sealed class ClusterOptions
    {
        public string Role { get; set; } = "learner";

        [Required]
        public string? SharedSecret { get; set; }
    }
}
