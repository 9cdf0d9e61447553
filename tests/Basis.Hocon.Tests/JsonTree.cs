using System.Globalization;
using System.Text.Json;

namespace Basis.Hocon.Tests;

/// <summary>Compares a resolved HOCON tree with a JSON document: same keys, same types, numbers equal by value.</summary>
internal static class JsonTree
{
    public static void AssertEquivalent(JsonElement expected, HoconValue actual, string path = "$")
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = Assert.IsType<HoconObject>(actual, exactMatch: true);
                var expectedKeys = expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
                Assert.Equal(expectedKeys, obj.Keys.Order(StringComparer.Ordinal).ToList());
                foreach (JsonProperty property in expected.EnumerateObject())
                {
                    AssertEquivalent(property.Value, obj[property.Name], $"{path}.{property.Name}");
                }

                break;
            case JsonValueKind.Array:
                var array = Assert.IsType<HoconArray>(actual, exactMatch: true);
                Assert.Equal(expected.GetArrayLength(), array.Count);
                int i = 0;
                foreach (JsonElement item in expected.EnumerateArray())
                {
                    AssertEquivalent(item, array[i], $"{path}[{i}]");
                    i++;
                }

                break;
            case JsonValueKind.String:
                Assert.True(actual.Kind == HoconValueKind.String, $"{path}: expected a string, got {actual.Kind}");
                Assert.Equal(expected.GetString(), ((HoconScalar)actual).Text);
                break;
            case JsonValueKind.Number:
                Assert.True(actual.Kind == HoconValueKind.Number, $"{path}: expected a number, got {actual.Kind}");
                Assert.Equal(expected.GetDouble(), double.Parse(((HoconScalar)actual).Text!, CultureInfo.InvariantCulture));
                break;
            case JsonValueKind.True:
            case JsonValueKind.False:
                Assert.True(actual.Kind == HoconValueKind.Boolean, $"{path}: expected a boolean, got {actual.Kind}");
                Assert.Equal(expected.GetBoolean() ? "true" : "false", ((HoconScalar)actual).Text);
                break;
            default:
                Assert.True(actual.Kind == HoconValueKind.Null, $"{path}: expected null, got {actual.Kind}");
                break;
        }
    }
}
