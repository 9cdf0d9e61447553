using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Basis.Cluster.Hosting;

/// <summary>A self-signed certificate for a cluster (every node presents the same one; nodes pin its thumbprint).</summary>
public static class ClusterCertificate
{
    /// <summary>Writes a PKCS#12 file with a fresh RSA key, valid for both TLS client and server authentication.</summary>
    public static void CreateSelfSigned(string path, string password, string subject = "basis-cluster", int days = 365)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(days));
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
    }
}
