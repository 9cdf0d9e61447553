using Basis.Cluster.Hosting;

namespace Basis.Cluster.Tests;

/// <summary>Throwaway self-signed PKCS#12 certificates for one test, in a temporary folder.</summary>
internal sealed class TestCertificates : IDisposable
{
    public const string Password = "throwaway-cert-password-7";

    public TestCertificates()
    {
        Folder = Directory.CreateTempSubdirectory("basis-certs-").FullName;
        Cluster = Path.Combine(Folder, "cluster.pfx");
        Intruder = Path.Combine(Folder, "intruder.pfx");
        ClusterCertificate.CreateSelfSigned(Cluster, Password, "basis-cluster", days: 7);
        ClusterCertificate.CreateSelfSigned(Intruder, Password, "basis-intruder", days: 7);
    }

    public string Folder { get; }

    /// <summary>The cluster's certificate: every legitimate node presents this one.</summary>
    public string Cluster { get; }

    /// <summary>A valid certificate of the same shape that is not the cluster's.</summary>
    public string Intruder { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
