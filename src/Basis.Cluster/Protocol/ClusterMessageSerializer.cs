using System.Runtime.InteropServices;
using System.Text;
using Akka.Actor;
using Akka.Serialization;

namespace Basis.Cluster.Protocol;

/// <summary>
/// Binary form of <see cref="IClusterMessage"/>s: a short manifest per type and a BinaryWriter body.
/// Floats travel as their bits (a remote rollout is bit-identical to a local one) and weights chunks
/// as raw bytes, so a chunk's frame is its size plus a few bytes.
/// </summary>
public sealed class ClusterMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>The serializer's id (Akka reserves 0 to 40).</summary>
    public const int Id = 4180;

    /// <summary>The HOCON that registers this serializer for every cluster message.</summary>
    public const string Hocon = """
        akka.actor {
          serializers { basis-cluster = "Basis.Cluster.Protocol.ClusterMessageSerializer, Basis.Cluster" }
          serialization-bindings { "Basis.Cluster.Protocol.IClusterMessage, Basis.Cluster" = basis-cluster }
          serialization-identifiers { "Basis.Cluster.Protocol.ClusterMessageSerializer, Basis.Cluster" = 4180 }
        }
        """;

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        RequestWork => "rw",
        WorkAssignment => "wa",
        WorkDone => "wd",
        WorkFailed => "wf",
        GetSession => "gs",
        SessionInfo => "si",
        GetWeights => "gw",
        WeightsManifest => "wm",
        GetWeightsChunk => "gc",
        WeightsChunk => "wc",
        WeightsUnavailable => "wu",
        _ => throw new ArgumentException($"{o.GetType()} is not a cluster message", nameof(o)),
    };

    public override byte[] ToBinary(object obj)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            Write(w, obj);
        }

        return stream.ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        return manifest switch
        {
            "rw" => new RequestWork(r.ReadInt32()),
            "wa" => new WorkAssignment(r.ReadInt64(), r.ReadInt32(), ReadGuid(r), r.ReadInt64(), r.ReadInt64(), ReadArray(r, ReadItem)),
            "wd" => new WorkDone(r.ReadInt64(), r.ReadInt32(), ReadArray(r, ReadResult)),
            "wf" => new WorkFailed(r.ReadInt64(), r.ReadInt32(), r.ReadString()),
            "gs" => new GetSession(ReadGuid(r)),
            "si" => ReadSession(r),
            "gw" => new GetWeights(ReadGuid(r), r.ReadInt64()),
            "wm" => new WeightsManifest(ReadGuid(r), r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), ReadBytes(r)),
            "gc" => new GetWeightsChunk(ReadGuid(r), r.ReadInt64(), r.ReadInt32()),
            "wc" => new WeightsChunk(r.ReadInt64(), r.ReadInt32(), ReadBytes(r)),
            "wu" => new WeightsUnavailable(ReadGuid(r), r.ReadInt64(), r.ReadString()),
            _ => throw new System.Runtime.Serialization.SerializationException($"unknown cluster message manifest '{manifest}'"),
        };
    }

    private static void Write(BinaryWriter w, object obj)
    {
        switch (obj)
        {
            case RequestWork m:
                w.Write(m.Slot);
                break;
            case WorkAssignment m:
                w.Write(m.WorkId);
                w.Write(m.Attempt);
                w.Write(m.SessionId.ToByteArray());
                w.Write(m.Step);
                w.Write(m.MinVersion);
                WriteArray(w, m.Items, WriteItem);
                break;
            case WorkDone m:
                w.Write(m.WorkId);
                w.Write(m.Attempt);
                WriteArray(w, m.Results, WriteResult);
                break;
            case WorkFailed m:
                w.Write(m.WorkId);
                w.Write(m.Attempt);
                w.Write(m.Error);
                break;
            case GetSession m:
                w.Write(m.SessionId.ToByteArray());
                break;
            case SessionInfo m:
                WriteSession(w, m);
                break;
            case GetWeights m:
                w.Write(m.SessionId.ToByteArray());
                w.Write(m.MinVersion);
                break;
            case WeightsManifest m:
                w.Write(m.SessionId.ToByteArray());
                w.Write(m.Version);
                w.Write(m.Length);
                w.Write(m.ChunkSize);
                WriteBytes(w, m.Sha256);
                break;
            case GetWeightsChunk m:
                w.Write(m.SessionId.ToByteArray());
                w.Write(m.Version);
                w.Write(m.Index);
                break;
            case WeightsChunk m:
                w.Write(m.Version);
                w.Write(m.Index);
                WriteBytes(w, m.Data);
                break;
            case WeightsUnavailable m:
                w.Write(m.SessionId.ToByteArray());
                w.Write(m.Version);
                w.Write(m.Reason);
                break;
            default:
                throw new ArgumentException($"{obj.GetType()} is not a cluster message", nameof(obj));
        }
    }

    private static void WriteItem(BinaryWriter w, RemoteItem item)
    {
        w.Write(item.Slot);
        w.Write(item.GroupIndex);
        w.Write(item.PromptId);
        w.Write(item.Prompt);
        w.Write(item.Seed);
    }

    private static RemoteItem ReadItem(BinaryReader r) => new(r.ReadInt32(), r.ReadInt32(), r.ReadString(), r.ReadString(), r.ReadUInt64());

    private static void WriteResult(BinaryWriter w, RolloutResult result)
    {
        w.Write(result.Completion);
        WriteBytes(w, MemoryMarshal.AsBytes(result.PromptTokens.AsSpan()));
        WriteBytes(w, MemoryMarshal.AsBytes(result.CompletionTokens.AsSpan()));
        WriteBytes(w, MemoryMarshal.AsBytes(result.BehaviourLogProbs.AsSpan()));
        w.Write(result.PolicyVersion);
    }

    private static RolloutResult ReadResult(BinaryReader r) => new(
        r.ReadString(),
        MemoryMarshal.Cast<byte, int>(ReadBytes(r)).ToArray(),
        MemoryMarshal.Cast<byte, int>(ReadBytes(r)).ToArray(),
        MemoryMarshal.Cast<byte, float>(ReadBytes(r)).ToArray(),
        r.ReadInt64());

    private static void WriteSession(BinaryWriter w, SessionInfo m)
    {
        w.Write(m.SessionId.ToByteArray());
        w.Write(m.RunId);
        WriteArray(w, m.Model.ToArray(), (w2, kv) =>
        {
            w2.Write(kv.Key);
            w2.Write(kv.Value);
        });
        w.Write(m.Alphabet);
        w.Write(m.Temperature);
        w.Write(m.TopK);
        w.Write(m.TopP);
        w.Write(m.MaxNewTokens);
        w.Write(m.Staleness);
    }

    private static SessionInfo ReadSession(BinaryReader r)
    {
        Guid session = ReadGuid(r);
        string runId = r.ReadString();
        KeyValuePair<string, string>[] model = ReadArray(r, r2 => KeyValuePair.Create(r2.ReadString(), r2.ReadString()));
        return new SessionInfo(session, runId, new Dictionary<string, string>(model, StringComparer.Ordinal), r.ReadString(), r.ReadSingle(), r.ReadInt32(), r.ReadSingle(), r.ReadInt32(), r.ReadInt32());
    }

    private static void WriteArray<T>(BinaryWriter w, IReadOnlyList<T> items, Action<BinaryWriter, T> write)
    {
        w.Write(items.Count);
        foreach (T item in items)
        {
            write(w, item);
        }
    }

    private static T[] ReadArray<T>(BinaryReader r, Func<BinaryReader, T> read)
    {
        var items = new T[r.ReadInt32()];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = read(r);
        }

        return items;
    }

    private static void WriteBytes(BinaryWriter w, ReadOnlySpan<byte> bytes)
    {
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static byte[] ReadBytes(BinaryReader r) => r.ReadBytes(r.ReadInt32());

    private static Guid ReadGuid(BinaryReader r) => new(r.ReadBytes(16));
}
