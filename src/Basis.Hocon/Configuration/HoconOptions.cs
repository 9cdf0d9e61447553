using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Basis.Hocon.Configuration;

/// <summary>
/// Binds a configuration section to an options class and validates it at start-up, naming the HOCON key and the file
/// and line of every bad value. Kebab-case keys bind to PascalCase properties (<c>batch-size</c> to <c>BatchSize</c>);
/// durations ("10s") bind to TimeSpan, sizes ("512 MiB") to <see cref="ByteSize"/>, on/off and yes/no to bool.
/// Validation uses DataAnnotations attributes (<c>[Range]</c>, <c>[Required]</c>...) and <see cref="IValidatableObject"/>,
/// recursively through nested option classes.
/// </summary>
public static partial class HoconOptions
{
    private static int s_convertersRegistered;

    /// <summary>Binds <c>configuration.GetSection(sectionKey)</c> (e.g. <c>"basis:train"</c>) to a new <typeparamref name="T"/> and validates it.</summary>
    /// <exception cref="HoconOptionsException">A value cannot be converted or fails validation.</exception>
    public static T BindAndValidate<T>(IConfiguration configuration, string sectionKey)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrEmpty(sectionKey);
        RegisterConverters();

        // Bind against a view whose key segments have their dashes removed, so that the binder's case-insensitive
        // property matching finds BatchSize for batch-size; remember the original keys for messages.
        var originalKeys = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in configuration.GetSection(sectionKey).AsEnumerable(makePathsRelative: true))
        {
            if (key.Length == 0)
            {
                continue;
            }

            string normalized = Normalize(key);
            data[normalized] = value;
            originalKeys[normalized] = sectionKey + ConfigurationPath.KeyDelimiter + key;
        }

        IConfigurationRoot view = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
        var options = new T();
        try
        {
            view.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            Match match = BinderKeyPattern().Match(e.Message);
            string normalized = match.Success ? match.Groups["key"].Value : "";
            string key = originalKeys.GetValueOrDefault(normalized, sectionKey + ConfigurationPath.KeyDelimiter + normalized);
            string reason = e.InnerException?.Message ?? e.Message;
            var error = new HoconOptionsError(ToHoconPath(key), data.GetValueOrDefault(normalized), Origin(configuration, key), $"cannot be read as {DescribeTarget(e.Message)}: {reason}");
            throw new HoconOptionsException([error], e);
        }

        var errors = new List<HoconOptionsError>();
        Validate(options, "", sectionKey + ConfigurationPath.KeyDelimiter, configuration, originalKeys, data, errors, depth: 0);
        return errors.Count == 0 ? options : throw new HoconOptionsException(errors);
    }

    /// <summary>
    /// Makes the configuration binder read HOCON durations into TimeSpan and on/off/yes/no into bool everywhere in the
    /// process (for code that binds with <c>services.Configure&lt;T&gt;</c>). Called by <see cref="BindAndValidate{T}"/>.
    /// </summary>
    public static void RegisterConverters()
    {
        if (Interlocked.Exchange(ref s_convertersRegistered, 1) == 0)
        {
            TypeDescriptor.AddAttributes(typeof(TimeSpan), new TypeConverterAttribute(typeof(HoconTimeSpanConverter)));
            TypeDescriptor.AddAttributes(typeof(bool), new TypeConverterAttribute(typeof(HoconBooleanConverter)));
        }
    }

    private static void Validate(object options, string normalizedPrefix, string originalPrefix, IConfiguration configuration,
        Dictionary<string, string> originalKeys, Dictionary<string, string?> data, List<HoconOptionsError> errors, int depth)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        foreach (ValidationResult result in results)
        {
            string[] members = result.MemberNames.Any() ? [.. result.MemberNames] : [""];
            foreach (string member in members)
            {
                string normalized = member.Length == 0 ? normalizedPrefix.TrimEnd(':') : normalizedPrefix + Normalize(member);
                string key = originalKeys.GetValueOrDefault(normalized) ?? originalPrefix + ToKebabCase(member);
                errors.Add(new HoconOptionsError(ToHoconPath(key.TrimEnd(':')), data.GetValueOrDefault(normalized), Origin(configuration, key), result.ErrorMessage ?? "is invalid"));
            }
        }

        // Nested option classes are validated too; the depth bound guards against reference cycles.
        if (depth >= 16)
        {
            return;
        }

        foreach (PropertyInfo property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0 && IsNestedOptions(property.PropertyType) && property.GetValue(options) is { } child)
            {
                string normalized = normalizedPrefix + Normalize(property.Name);
                string original = originalKeys.GetValueOrDefault(normalized) ?? originalPrefix + ToKebabCase(property.Name);
                Validate(child, normalized + ConfigurationPath.KeyDelimiter, original + ConfigurationPath.KeyDelimiter, configuration, originalKeys, data, errors, depth + 1);
            }
        }
    }

    private static bool IsNestedOptions(Type type)
        => type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type) && !type.IsAbstract;

    private static HoconOrigin? Origin(IConfiguration configuration, string key)
        => HoconConfiguration.TryGetOrigin(configuration, key, out HoconOrigin origin) ? origin : null;

    private static string Normalize(string key) => key.Replace("-", "", StringComparison.Ordinal);

    private static string ToHoconPath(string key) => key.Replace(ConfigurationPath.KeyDelimiter, ".", StringComparison.Ordinal);

    private static string ToKebabCase(string member)
    {
        // An absent setting is named as it would be written: BatchSize -> batch-size.
        var kebab = new StringBuilder();
        for (int i = 0; i < member.Length; i++)
        {
            if (char.IsUpper(member[i]) && i > 0)
            {
                kebab.Append('-');
            }

            kebab.Append(char.ToLowerInvariant(member[i]));
        }

        return kebab.ToString();
    }

    private static string DescribeTarget(string binderMessage)
    {
        Match match = BinderTypePattern().Match(binderMessage);
        return match.Success ? match.Groups["type"].Value switch
        {
            "System.Int32" or "System.Int64" => "an integer",
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Boolean" => "a boolean",
            "System.TimeSpan" => "a duration",
            var other when other.EndsWith(".ByteSize", StringComparison.Ordinal) => "a size",
            var other => other,
        } : "the expected type";
    }

    [GeneratedRegex("at '(?<key>[^']*)'")]
    private static partial Regex BinderKeyPattern();

    [GeneratedRegex("to type '(?<type>[^']*)'")]
    private static partial Regex BinderTypePattern();
}

/// <summary>One invalid setting: its HOCON key, its value, where it was written (if known) and what is wrong.</summary>
public sealed record HoconOptionsError(string Key, string? Value, HoconOrigin? Origin, string Message)
{
    public override string ToString()
    {
        string value = Value is null ? "" : $" = \"{Value}\"";
        string where = Origin is { } origin ? $" (set at {origin})" : " (not set in any configuration file)";
        return $"{Key}{value}{where}: {Message}";
    }
}

/// <summary>Start-up configuration validation failed; the message lists every bad setting with its file and line.</summary>
public sealed class HoconOptionsException : Exception
{
    public HoconOptionsException(IReadOnlyList<HoconOptionsError> errors, Exception? innerException = null)
        : base(Format(errors), innerException)
    {
        Errors = errors;
    }

    public IReadOnlyList<HoconOptionsError> Errors { get; }

    private static string Format(IReadOnlyList<HoconOptionsError> errors)
        => errors.Count == 1
            ? $"invalid configuration: {errors[0]}"
            : "invalid configuration:" + string.Concat(errors.Select(error => Environment.NewLine + "  " + error));
}
