using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Basis.Cluster.Tests;

/// <summary>Throwaway self-signed PKCS#12 certificates for one test, in a temporary folder.</summary>
internal sealed class TestCertificates : IDisposable
{
    public const string Password = "throwaway-cert-password-7";

    public TestCertificates()
    {
        Folder = Directory.CreateTempSubdirectory("basis-certs-").FullName;
        Cluster = Create("basis-cluster");
        Intruder = Create("basis-intruder");
    }

    public string Folder { get; }

    /// <summary>The cluster's certificate: every legitimate node presents this one.</summary>
    public string Cluster { get; }

    /// <summary>A valid certificate of the same shape that is not the cluster's.</summary>
    public string Intruder { get; }

    private string Create(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        string path = Path.Combine(Folder, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, Password));
        return path;
    }

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
