using System.Text;

namespace Basis.Tasks.Datasets;

/// <summary>One physical line of a JSONL file.</summary>
/// <param name="Number">1-based line number.</param>
/// <param name="Text">The line without its terminator; null when it exceeded the length limit.</param>
/// <param name="Terminated">False for a last line that had no newline (e.g. a write cut short).</param>
public readonly record struct JsonlLine(long Number, string? Text, bool Terminated)
{
    public bool TooLong => Text is null;
}

/// <summary>
/// Reads lines with bounded memory: a line longer than the limit is reported as too long and its
/// remainder is skipped without being buffered, unlike <see cref="TextReader.ReadLine"/>.
/// </summary>
public sealed class JsonlLineReader : IDisposable
{
    private readonly TextReader _reader;
    private readonly int _maxLineChars;
    private readonly char[] _buffer = new char[16 * 1024];
    private readonly StringBuilder _line = new();
    private int _bufferStart;
    private int _bufferEnd;
    private long _lineNumber;

    public JsonlLineReader(TextReader reader, int maxLineChars)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineChars, 1);
        _reader = reader;
        _maxLineChars = maxLineChars;
    }

    public static JsonlLineReader Open(string path, int maxLineChars) =>
        new(new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, new FileStreamOptions { BufferSize = 64 * 1024 }), maxLineChars);

    public bool TryReadLine(out JsonlLine line)
    {
        _line.Clear();
        bool tooLong = false;
        bool sawAny = false;
        while (true)
        {
            if (_bufferStart == _bufferEnd)
            {
                _bufferStart = 0;
                _bufferEnd = _reader.Read(_buffer, 0, _buffer.Length);
                if (_bufferEnd == 0)
                {
                    if (!sawAny)
                    {
                        line = default;
                        return false;
                    }

                    line = new JsonlLine(++_lineNumber, tooLong ? null : TrimCarriageReturn(), Terminated: false);
                    return true;
                }
            }

            sawAny = true;
            ReadOnlySpan<char> pending = _buffer.AsSpan(_bufferStart, _bufferEnd - _bufferStart);
            int newline = pending.IndexOf('\n');
            ReadOnlySpan<char> chunk = newline >= 0 ? pending[..newline] : pending;
            if (!tooLong)
            {
                if (_line.Length + chunk.Length > _maxLineChars + 1)
                {
                    // +1 leaves room for a '\r' that belongs to the terminator.
                    tooLong = true;
                    _line.Clear();
                }
                else
                {
                    _line.Append(chunk);
                }
            }

            _bufferStart += newline >= 0 ? newline + 1 : chunk.Length;
            if (newline >= 0)
            {
                string? text = tooLong ? null : TrimCarriageReturn();
                if (text is not null && text.Length > _maxLineChars)
                {
                    text = null;
                }

                line = new JsonlLine(++_lineNumber, text, Terminated: true);
                return true;
            }
        }
    }

    public void Dispose() => _reader.Dispose();

    private string TrimCarriageReturn()
    {
        if (_line.Length > 0 && _line[^1] == '\r')
        {
            _line.Length--;
        }

        return _line.ToString();
    }
}
