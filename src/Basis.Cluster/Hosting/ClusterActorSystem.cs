using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Dsl;
using Akka.Remote.Transport.DotNetty;
using Basis.Cluster.Membership;
using Basis.Cluster.Protocol;
using Basis.Training.Hosting;

namespace Basis.Cluster.Hosting;

/// <summary>
/// The one place a cluster node's ActorSystem is made: the HOCON tree's <c>akka</c> section (provider,
/// remoting, seed nodes, failure detector, split brain resolver), this node's roles, and TLS.
/// TLS: with <c>akka.remote.dot-netty.tcp.enable-ssl = on</c> every node loads the cluster's
/// certificate (PKCS#12, <c>ssl.certificate.path</c>; its password from <c>ssl.certificate.password</c>
/// or <see cref="PasswordVariable"/>), presents it in both directions (mutual TLS) and accepts a peer
/// only if the peer presents that same certificate (its thumbprint is pinned), so a node without the
/// certificate cannot join and a self-signed certificate needs no certificate authority.
/// </summary>
public static class ClusterActorSystem
{
    /// <summary>Every node's ActorSystem has this name; seed-node addresses name it (akka.tcp://basis@host:port).</summary>
    public const string Name = "basis";

    /// <summary>Where the certificate's password comes from when the configuration does not set it (it is never written to a run folder).</summary>
    public const string PasswordVariable = "BASIS_CLUSTER_CERT_PASSWORD";

    private const string Tcp = "akka.remote.dot-netty.tcp";

    /// <param name="akkaHocon">The resolved <c>akka</c> section (<see cref="ClusterConfiguration.AkkaHocon"/>).</param>
    /// <param name="roles">This node's roles (learner or rollout, and its id role).</param>
    /// <param name="port">Overrides akka.remote.dot-netty.tcp.port (a rollout node's own port); null keeps it.</param>
    /// <exception cref="ClusterConfigurationException">TLS is on and the certificate is missing or cannot be opened.</exception>
    /// <param name="plugins">Settings built in code underneath the tree's (the learner's journal plugins).</param>
    public static ActorSystem Create(string akkaHocon, IReadOnlyList<string> roles, int? port = null, Config? plugins = null)
    {
        ArgumentNullException.ThrowIfNull(akkaHocon);
        ArgumentNullException.ThrowIfNull(roles);
        string overrides = $"akka.cluster.roles = [{string.Join(", ", roles.Select(r => $"\"{r}\""))}]"
            + (port is int p ? $"\n{Tcp}.port = {p}" : string.Empty);
        Config config = ConfigurationFactory.ParseString(overrides)
            .WithFallback(BasisActorSystem.ConfigFor(akkaHocon, plugins))
            .WithFallback(ConfigurationFactory.ParseString(ClusterMessageSerializer.Hocon));
        ActorSystemSetup setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config));
        if (config.GetBoolean($"{Tcp}.enable-ssl", false))
        {
            X509Certificate2 certificate = LoadCertificate(config);
            setup = setup.And(new DotNettySslSetup(
                certificate,
                suppressValidation: false,
                requireMutualAuthentication: true,
                customValidator: CertificateValidation.PinnedCertificate(certificate.Thumbprint)));
        }

        return ActorSystem.Create(Name, setup);
    }

    /// <summary>
    /// Starts joining: with <c>basis.cluster.join = seed-nodes</c> Akka joins <c>akka.cluster.seed-nodes</c> by
    /// itself; with <c>bootstrap</c> Akka.Management's HTTP endpoint and Cluster Bootstrap start, and the
    /// nodes find each other through Akka.Discovery (the Kubernetes API in deploy/k8s).
    /// </summary>
    public static async Task StartJoiningAsync(ActorSystem system, string join)
    {
        ArgumentNullException.ThrowIfNull(system);
        if (join == "bootstrap")
        {
            await AkkaManagement.Get(system).Start().ConfigureAwait(false);
            await ClusterBootstrap.Get(system).Start().ConfigureAwait(false);
        }
    }

    /// <summary>The roles of a node of <paramref name="kind"/> (learner or rollout) named <paramref name="nodeId"/>.</summary>
    public static IReadOnlyList<string> Roles(string kind, string nodeId) => [kind, NodeNames.Role(nodeId)];

    private static X509Certificate2 LoadCertificate(Config config)
    {
        string path = config.GetString($"{Tcp}.ssl.certificate.path", string.Empty);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ClusterConfigurationException(
                $"this node has no TLS certificate: the cluster runs Akka.Remote over TLS ({Tcp}.enable-ssl = on) and only nodes that present the cluster's certificate can join. "
                + $"Set BASIS_CLUSTER_CERT (hocon/cluster.conf) or {Tcp}.ssl.certificate.path to the cluster's PKCS#12 file.");
        }

        if (!File.Exists(path))
        {
            throw new ClusterConfigurationException($"the TLS certificate {path} ({Tcp}.ssl.certificate.path) does not exist.");
        }

        string? password = config.GetString($"{Tcp}.ssl.certificate.password", string.Empty);
        if (string.IsNullOrEmpty(password))
        {
            password = Environment.GetEnvironmentVariable(PasswordVariable);
        }

        try
        {
            X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
            if (!certificate.HasPrivateKey)
            {
                throw new ClusterConfigurationException($"the TLS certificate {path} has no private key: a node must present the certificate, not only know it.");
            }

            return certificate;
        }
        catch (CryptographicException e)
        {
            // The message never repeats the password.
            throw new ClusterConfigurationException($"the TLS certificate {path} cannot be opened ({e.Message.TrimEnd('.')}): check {PasswordVariable}.");
        }
    }
}
