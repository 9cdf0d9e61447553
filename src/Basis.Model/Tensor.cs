namespace Basis.Model;

/// <summary>A float32 tensor over contiguous row-major memory.</summary>
public sealed class Tensor
{
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        var length = ElementCount(shape);
        if (length != data.Length)
        {
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {length} elements but the data has {data.Length}.", nameof(shape));
        }

        Data = data;
        Shape = (int[])shape.Clone();
    }

    public float[] Data { get; }

    public IReadOnlyList<int> Shape { get; }

    public int Length => Data.Length;

    public int Rank => Shape.Count;

    public Span<float> Span => Data;

    public static Tensor Zeros(params int[] shape) => new(new float[ElementCount(shape)], shape);

    public static int ElementCount(IReadOnlyList<int> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dim);
            count *= dim;
            if (count > Array.MaxLength)
            {
                throw new ArgumentException($"Shape [{string.Join(", ", shape)}] is too large.", nameof(shape));
            }
        }

        return (int)count;
    }

    /// <summary>The row-major slice of row <paramref name="index"/> along the first dimension.</summary>
    public Span<float> Row(int index)
    {
        var rowLength = Length / Shape[0];
        return Data.AsSpan(index * rowLength, rowLength);
    }
}
