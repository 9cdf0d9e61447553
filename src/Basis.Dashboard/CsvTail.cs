using System.Text;

namespace Basis.Dashboard;

/// <summary>The header and the complete rows appended to a CSV file since the previous read.</summary>
public sealed record CsvChunk(IReadOnlyList<string> Header, IReadOnlyList<string[]> Rows, bool Restarted);

/// <summary>
/// Follows an append-only CSV file another process is writing (metrics.csv, queues.csv): each read returns
/// the complete lines added since the last one; a line still being written waits for its newline.
/// </summary>
public sealed class CsvTail
{
    private readonly string _path;
    private long _offset;
    private string[]? _header;

    public CsvTail(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    public string Path => _path;

    public bool Exists => File.Exists(_path);

    /// <summary>The header once it has been read; null before.</summary>
    public IReadOnlyList<string>? Header => _header;

    /// <summary>Reads what was appended; null when the file does not exist (yet).</summary>
    public CsvChunk? ReadAppended()
    {
        FileStream stream;
        try
        {
            stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        using (stream)
        {
            // A shorter file was rewritten from the start (a new run in the same folder): read it again.
            bool restarted = stream.Length < _offset;
            if (restarted)
            {
                _offset = 0;
                _header = null;
            }

            long available = stream.Length - _offset;
            if (available <= 0)
            {
                return new CsvChunk(_header ?? [], [], restarted);
            }

            var buffer = new byte[available];
            stream.Seek(_offset, SeekOrigin.Begin);
            stream.ReadExactly(buffer);
            int end = Array.LastIndexOf(buffer, (byte)'\n');
            if (end < 0)
            {
                return new CsvChunk(_header ?? [], [], restarted);
            }

            _offset += end + 1;
            var rows = new List<string[]>();
            foreach (string line in Encoding.UTF8.GetString(buffer, 0, end).Split('\n'))
            {
                string trimmed = line.TrimEnd('\r');
                if (trimmed.Length == 0)
                {
                    continue;
                }

                string[] fields = trimmed.Split(',');
                if (_header is null)
                {
                    _header = fields;
                }
                else
                {
                    rows.Add(fields);
                }
            }

            return new CsvChunk(_header ?? [], rows, restarted);
        }
    }
}
