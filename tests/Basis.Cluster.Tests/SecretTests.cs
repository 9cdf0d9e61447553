using Basis.Cluster.Membership;
using FsCheck;
using FsCheck.Fluent;

namespace Basis.Cluster.Tests;

public sealed class SecretTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void A_missing_secret_names_the_key_and_the_variable(string? secret)
    {
        ClusterConfigurationException error = Assert.Throws<ClusterConfigurationException>(() => ClusterSecret.From(secret));
        Assert.Contains("basis.cluster.secret", error.Message, StringComparison.Ordinal);
        Assert.Contains("BASIS_CLUSTER_SECRET", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_secret_is_refused()
    {
        Assert.Throws<ClusterConfigurationException>(() => ClusterSecret.From("short"));
    }

    [Fact]
    public void Neither_the_secret_nor_the_settings_print_it()
    {
        const string value = "s3cr3t-value-never-printed";
        var settings = new ClusterSettings { Secret = value };
        Assert.DoesNotContain(value, settings.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(value, ClusterSecret.From(value).ToString(), StringComparison.Ordinal);
        Assert.Contains("secret=set", settings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_join_hmac_binds_every_field_of_the_request()
    {
        ClusterSecret secret = ClusterSecret.From("correct-horse-battery-staple");
        var request = new JoinRequest("node-1", new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"), "rollout", "host/1", 2);
        byte[] hmac = secret.Sign(request);

        Assert.True(secret.Verify(request, hmac));
        Assert.False(ClusterSecret.From("correct-horse-battery-stapl3").Verify(request, hmac));
        Prop.ForAll(
            Gen.Elements(0, 1, 2, 3, 4).ToArbitrary(),
            ArbMap.Default.GeneratorFor<NonEmptyString>().Select(s => s.Get).ToArbitrary(),
            (field, text) =>
            {
                JoinRequest altered = field switch
                {
                    0 => request with { NodeId = request.NodeId + text },
                    1 => request with { Incarnation = Guid.NewGuid() },
                    2 => request with { Roles = request.Roles + text },
                    3 => request with { Address = request.Address + text },
                    _ => request with { Slots = request.Slots + text.Length },
                };
                return !secret.Verify(altered, hmac);
            }).QuickCheckThrowOnFailure();
    }
}
