using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Basis.Model.Checkpoints;

/// <summary>A checkpoint that cannot be read: the message names the source and what is wrong.</summary>
public sealed class CheckpointFormatException(string message, Exception? inner = null) : Exception(message, inner);

public enum SafetensorsDType
{
    F32,
    F64,
    I32,
    I64,
}

/// <summary>One tensor of a safetensors file: raw little-endian bytes plus dtype and shape.</summary>
public sealed class SafetensorsTensor
{
    public SafetensorsTensor(string name, SafetensorsDType dtype, IReadOnlyList<int> shape, byte[] data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var expected = (long)Tensor.ElementCount(shape) * Safetensors.ElementSize(dtype);
        if (data.Length != expected)
        {
            throw new ArgumentException($"Tensor '{name}' of shape [{string.Join(", ", shape)}] and dtype {dtype} needs {expected} bytes, not {data.Length}.", nameof(data));
        }

        Name = name;
        DType = dtype;
        Shape = [.. shape];
        Data = data;
    }

    public string Name { get; }

    public SafetensorsDType DType { get; }

    public IReadOnlyList<int> Shape { get; }

    public byte[] Data { get; }

    public int ElementCount => Tensor.ElementCount(Shape);

    public static SafetensorsTensor FromFloats(string name, ReadOnlySpan<float> values, params int[] shape) =>
        new(name, SafetensorsDType.F32, shape, ToBytes(values));

    public static SafetensorsTensor FromInts(string name, ReadOnlySpan<int> values, params int[] shape) =>
        new(name, SafetensorsDType.I32, shape, ToBytes(values));

    public float[] ToFloat32()
    {
        Require(SafetensorsDType.F32);
        var result = new float[ElementCount];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(i * 4));
        }

        return result;
    }

    /// <summary>Values as doubles (F32 and F64 both accepted).</summary>
    public double[] ToFloat64()
    {
        var result = new double[ElementCount];
        if (DType == SafetensorsDType.F32)
        {
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(i * 4));
            }

            return result;
        }

        Require(SafetensorsDType.F64);
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = BinaryPrimitives.ReadDoubleLittleEndian(Data.AsSpan(i * 8));
        }

        return result;
    }

    public int[] ToInt32()
    {
        Require(SafetensorsDType.I32);
        var result = new int[ElementCount];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan(i * 4));
        }

        return result;
    }

    private void Require(SafetensorsDType dtype)
    {
        if (DType != dtype)
        {
            throw new CheckpointFormatException($"Tensor '{Name}' has dtype {DType}; expected {dtype}.");
        }
    }

    private static byte[] ToBytes<T>(ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            for (var i = 0; i < bytes.Length; i += 4)
            {
                bytes.AsSpan(i, 4).Reverse();
            }
        }

        return bytes;
    }
}

/// <summary>The tensors and string metadata of one safetensors file.</summary>
public sealed class SafetensorsFile(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafetensorsTensor> tensors)
{
    private readonly Dictionary<string, SafetensorsTensor> _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    public IReadOnlyList<SafetensorsTensor> Tensors { get; } = tensors;

    public bool TryGet(string name, out SafetensorsTensor tensor) => _byName.TryGetValue(name, out tensor!);

    public SafetensorsTensor this[string name] =>
        _byName.TryGetValue(name, out var t) ? t : throw new CheckpointFormatException($"The checkpoint has no tensor '{name}'.");
}

/// <summary>
/// Reader and writer of the safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" object of strings), then the data.
/// </summary>
public static class Safetensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100_000_000;

    public static int ElementSize(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public static void Write(Stream stream, IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
            }

            long offset = 0;
            foreach (var t in tensors)
            {
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", t.DType.ToString());
                writer.WriteStartArray("shape");
                foreach (var dim in t.Shape)
                {
                    writer.WriteNumberValue(dim);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + t.Data.Length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += t.Data.Length;
            }

            writer.WriteEndObject();
        }

        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        var headerLength = (json.Length + 7) / 8 * 8;
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerLength);
        stream.Write(prefix);
        stream.Write(json.GetBuffer().AsSpan(0, (int)json.Length));
        for (var i = json.Length; i < headerLength; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var t in tensors)
        {
            stream.Write(t.Data);
        }
    }

    /// <summary>Reads a whole safetensors file; <paramref name="source"/> names it in error messages.</summary>
    public static SafetensorsFile Read(Stream stream, string source = "checkpoint")
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] bytes;
        using (var copy = new MemoryStream())
        {
            stream.CopyTo(copy);
            bytes = copy.ToArray();
        }

        if (bytes.Length < 8)
        {
            throw new CheckpointFormatException($"{source}: truncated: {bytes.Length} bytes, fewer than the 8-byte header length.");
        }

        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes)
        {
            throw new CheckpointFormatException($"{source}: header length {headerLength} is implausible; this is not a safetensors file.");
        }

        if (8 + (long)headerLength > bytes.Length)
        {
            throw new CheckpointFormatException($"{source}: truncated: the header claims {headerLength} bytes but only {bytes.Length - 8} follow.");
        }

        var dataStart = 8 + (int)headerLength;
        var dataLength = bytes.Length - dataStart;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException($"{source}: the header is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new CheckpointFormatException($"{source}: the header is not a JSON object.");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensor>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new CheckpointFormatException($"{source}: __metadata__ is not an object.");
                    }

                    foreach (var m in property.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String
                            ? m.Value.GetString()!
                            : throw new CheckpointFormatException($"{source}: metadata '{m.Name}' is not a string.");
                    }

                    continue;
                }

                tensors.Add(ReadTensor(property, bytes, dataStart, dataLength, source));
            }

            return new SafetensorsFile(metadata, tensors);
        }
    }

    private static SafetensorsTensor ReadTensor(JsonProperty property, byte[] bytes, int dataStart, int dataLength, string source)
    {
        var name = property.Name;
        var e = property.Value;
        string where = $"{source}: tensor '{name}'";
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
        {
            throw new CheckpointFormatException($"{where}: expected {{\"dtype\", \"shape\", \"data_offsets\": [begin, end]}}.");
        }

        var dtypeName = dtypeElement.GetString();
        if (!Enum.TryParse<SafetensorsDType>(dtypeName, ignoreCase: false, out var dtype) || !Enum.IsDefined(dtype))
        {
            throw new CheckpointFormatException($"{where}: unsupported dtype '{dtypeName}' (supported: F32, F64, I32, I64).");
        }

        var shape = new List<int>();
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out var value) || value < 0)
            {
                throw new CheckpointFormatException($"{where}: shape entry {dim} is not a non-negative integer.");
            }

            shape.Add(value);
        }

        if (!offsetsElement[0].TryGetInt64(out var begin) || !offsetsElement[1].TryGetInt64(out var end) || begin < 0 || end < begin)
        {
            throw new CheckpointFormatException($"{where}: data_offsets {offsetsElement} are not an ordered pair of non-negative integers.");
        }

        long count;
        try
        {
            count = Tensor.ElementCount(shape);
        }
        catch (ArgumentException ex)
        {
            throw new CheckpointFormatException($"{where}: shape [{string.Join(", ", shape)}] is too large.", ex);
        }

        if (end - begin != count * ElementSize(dtype))
        {
            throw new CheckpointFormatException($"{where}: shape [{string.Join(", ", shape)}] of {dtype} needs {count * ElementSize(dtype)} bytes but data_offsets span {end - begin}.");
        }

        if (end > dataLength)
        {
            throw new CheckpointFormatException($"{source}: truncated: tensor '{name}' ends at data byte {end} but the file holds only {dataLength} data bytes.");
        }

        return new SafetensorsTensor(name, dtype, shape, bytes.AsSpan(dataStart + (int)begin, (int)(end - begin)).ToArray());
    }
}
