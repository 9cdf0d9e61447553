using Microsoft.Extensions.Configuration;

namespace Basis.Hocon.Configuration;

/// <summary>
/// One or more HOCON layers that are merged unresolved and resolved together, so that substitutions work across
/// layers. Consecutive <c>AddHoconFile</c>/<c>AddHoconString</c> calls share one source.
/// </summary>
public sealed class HoconConfigurationSource : IConfigurationSource
{
    public List<HoconSource> Layers { get; } = [];

    public HoconLoadSettings Settings { get; set; } = HoconLoadSettings.Default;

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new HoconConfigurationProvider(this);
}
