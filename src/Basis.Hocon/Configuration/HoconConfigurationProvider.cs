using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Basis.Hocon.Configuration;

/// <summary>
/// Exposes a resolved HOCON configuration to Microsoft.Extensions.Configuration: <c>basis.train.batch-size</c> becomes
/// <c>basis:train:batch-size</c>, array elements <c>:0</c>, <c>:1</c>... and remembers where each key was written.
/// </summary>
public sealed class HoconConfigurationProvider : ConfigurationProvider
{
    private readonly HoconConfigurationSource _source;
    private Dictionary<string, HoconOrigin> _origins = new(StringComparer.OrdinalIgnoreCase);

    public HoconConfigurationProvider(HoconConfigurationSource source) => _source = source ?? throw new ArgumentNullException(nameof(source));

    /// <summary>The resolved configuration behind the keys (after <see cref="Load"/>).</summary>
    public HoconConfig? Config { get; private set; }

    public override void Load()
    {
        HoconConfig config = HoconConfig.Load(_source.Layers, _source.Settings);
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var origins = new Dictionary<string, HoconOrigin>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in config.Root)
        {
            Flatten(key, value, data, origins);
        }

        Config = config;
        Data = data;
        _origins = origins;
    }

    /// <summary>Where the value of a configuration key (<c>basis:train:steps</c>) was written.</summary>
    public bool TryGetOrigin(string key, out HoconOrigin origin) => _origins.TryGetValue(key, out origin);

    private static void Flatten(string key, HoconValue value, Dictionary<string, string?> data, Dictionary<string, HoconOrigin> origins)
    {
        origins[key] = value.Origin;
        switch (value)
        {
            case HoconObject obj when obj.Count == 0:
            case HoconArray { Count: 0 }:
                // Like the JSON provider: an empty container is a key without a value.
                data[key] = null;
                break;
            case HoconObject obj:
                foreach (var (childKey, child) in obj)
                {
                    Flatten(key + ConfigurationPath.KeyDelimiter + childKey, child, data, origins);
                }

                break;
            case HoconArray array:
                for (int i = 0; i < array.Count; i++)
                {
                    Flatten(key + ConfigurationPath.KeyDelimiter + i.ToString(CultureInfo.InvariantCulture), array[i], data, origins);
                }

                break;
            case HoconScalar scalar:
                data[key] = scalar.Text;
                break;
        }
    }
}
