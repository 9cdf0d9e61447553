using System.ComponentModel;
using System.Globalization;

namespace Basis.Hocon;

/// <summary>HOCON durations: a number and an optional unit ("10s", "500 ms", "2 minutes", "1.5h"); no unit means milliseconds.</summary>
public static class HoconDuration
{
    public static TimeSpan Parse(string text)
        => TryParse(text, out TimeSpan value) ? value : throw new FormatException($"'{text}' is not a duration (examples: \"10s\", \"500 ms\", \"2 minutes\")");

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (!UnitNumber.TrySplit(text, out double number, out string unit))
        {
            return false;
        }

        double ticksPerUnit = unit switch
        {
            "" or "ms" or "milli" or "millis" or "millisecond" or "milliseconds" => TimeSpan.TicksPerMillisecond,
            "ns" or "nano" or "nanos" or "nanosecond" or "nanoseconds" => TimeSpan.TicksPerMillisecond / 1e6,
            "us" or "micro" or "micros" or "microsecond" or "microseconds" => TimeSpan.TicksPerMillisecond / 1e3,
            "s" or "second" or "seconds" => TimeSpan.TicksPerSecond,
            "m" or "minute" or "minutes" => TimeSpan.TicksPerMinute,
            "h" or "hour" or "hours" => TimeSpan.TicksPerHour,
            "d" or "day" or "days" => TimeSpan.TicksPerDay,
            _ => double.NaN,
        };

        double ticks = Math.Round(number * ticksPerUnit);
        if (double.IsNaN(ticks) || Math.Abs(ticks) >= long.MaxValue)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)ticks);
        return true;
    }
}

/// <summary>A size in bytes, written the HOCON way ("512 MiB", "1G", "10kB"; no unit means bytes).</summary>
[TypeConverter(typeof(ByteSizeConverter))]
public readonly record struct ByteSize(long Bytes)
{
    public static ByteSize Parse(string text)
        => TryParse(text, out ByteSize value) ? value : throw new FormatException($"'{text}' is not a size (examples: \"512 MiB\", \"1G\", \"10kB\")");

    public static bool TryParse(string? text, out ByteSize value)
    {
        value = default;
        if (!UnitNumber.TrySplit(text, out double number, out string unit))
        {
            return false;
        }

        double multiplier = unit switch
        {
            "" or "B" or "b" or "byte" or "bytes" => 1,
            "kB" or "kilobyte" or "kilobytes" => 1e3,
            "MB" or "megabyte" or "megabytes" => 1e6,
            "GB" or "gigabyte" or "gigabytes" => 1e9,
            "TB" or "terabyte" or "terabytes" => 1e12,
            "PB" or "petabyte" or "petabytes" => 1e15,
            "EB" or "exabyte" or "exabytes" => 1e18,
            "K" or "k" or "Ki" or "KiB" or "kibibyte" or "kibibytes" => 1L << 10,
            "M" or "m" or "Mi" or "MiB" or "mebibyte" or "mebibytes" => 1L << 20,
            "G" or "g" or "Gi" or "GiB" or "gibibyte" or "gibibytes" => 1L << 30,
            "T" or "t" or "Ti" or "TiB" or "tebibyte" or "tebibytes" => 1L << 40,
            "P" or "p" or "Pi" or "PiB" or "pebibyte" or "pebibytes" => 1L << 50,
            "E" or "e" or "Ei" or "EiB" or "exbibyte" or "exbibytes" => 1L << 60,
            _ => double.NaN,
        };

        double bytes = Math.Round(number * multiplier);
        if (double.IsNaN(bytes) || bytes < 0 || bytes >= long.MaxValue)
        {
            return false;
        }

        value = new ByteSize((long)bytes);
        return true;
    }

    public override string ToString() => Bytes.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Lets configuration binding read "512 MiB" into a <see cref="ByteSize"/> property.</summary>
public sealed class ByteSizeConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType)
        => sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value)
        => value is string text ? ByteSize.Parse(text.Trim()) : base.ConvertFrom(context, culture, value);
}

/// <summary>Lets configuration binding read HOCON durations ("10s") into TimeSpan; the usual "00:00:10" still works.</summary>
public sealed class HoconTimeSpanConverter : TimeSpanConverter
{
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value)
    {
        if (value is string text)
        {
            text = text.Trim();
            if (HoconDuration.TryParse(text, out TimeSpan duration))
            {
                return duration;
            }

            if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration))
            {
                return duration;
            }

            throw new FormatException($"'{text}' is not a duration (examples: \"10s\", \"500 ms\", \"2 minutes\")");
        }

        return base.ConvertFrom(context, culture, value);
    }
}

/// <summary>Lets configuration binding read HOCON booleans (yes/no, on/off as well as true/false).</summary>
public sealed class HoconBooleanConverter : BooleanConverter
{
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value)
    {
        if (value is string text)
        {
            string trimmed = text.Trim();
            if (HoconConfig.TryParseBoolean(trimmed.ToLowerInvariant(), out bool result))
            {
                return result;
            }

            throw new FormatException($"'{text}' is not a boolean (true/false, yes/no, on/off)");
        }

        return base.ConvertFrom(context, culture, value);
    }
}

internal static class UnitNumber
{
    /// <summary>Splits "1.5 GiB" into 1.5 and "GiB".</summary>
    public static bool TrySplit(string? text, out double number, out string unit)
    {
        number = 0;
        unit = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        ReadOnlySpan<char> span = text.AsSpan().Trim();
        int end = 0;
        if (end < span.Length && span[end] is '-' or '+')
        {
            end++;
        }

        while (end < span.Length && (char.IsAsciiDigit(span[end]) || span[end] == '.'))
        {
            end++;
        }

        if (!double.TryParse(span[..end], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number))
        {
            return false;
        }

        unit = span[end..].Trim().ToString();
        return unit.All(char.IsAsciiLetter);
    }
}
