using Microsoft.Extensions.Caching.Memory;

namespace CtxRelay.Relay.Storage.Sqlite;

/// <summary>
/// Small payloads of the embedded engine kept in memory (bounded in bytes), so the common hand-off — a
/// few KB pushed, then pulled and peeked — is served without a database read. Safe because this process
/// owns the data folder: payloads never change, and deletes and expiry go through this store (an entry
/// expires with its payload and is removed when the payload is deleted).
/// </summary>
internal sealed class SmallPayloadCache(long budgetBytes, int maxPayloadBytes) : IDisposable
{
    private readonly MemoryCache _entries = new(new MemoryCacheOptions { SizeLimit = budgetBytes, CompactionPercentage = 0.25 });
    private readonly Lock _deletes = new();
    private long _deleteEpoch;

    public int MaxPayloadBytes { get; } = maxPayloadBytes;

    public bool TryGet(string workspace, string id, DateTimeOffset now, out PayloadRecord record, out byte[] content)
    {
        if (_entries.TryGetValue((workspace, id), out (PayloadRecord Record, byte[] Content) entry) && entry.Record.ExpiresAt > now)
        {
            (record, content) = entry;
            return true;
        }

        (record, content) = (null!, null!);
        return false;
    }

    public void Add(PayloadRecord record, byte[] content)
    {
        if (content.Length <= MaxPayloadBytes)
        {
            _entries.Set((record.Workspace, record.Id), (record, content), new MemoryCacheEntryOptions
            {
                Size = content.Length + 512, // the record and the entry itself
                AbsoluteExpiration = record.ExpiresAt,
            });
        }
    }

    /// <summary>Taken before a database read whose result may be cached with <see cref="AddRead"/>.</summary>
    public long DeleteEpoch => Interlocked.Read(ref _deleteEpoch);

    /// <summary>Caches what a read found, unless a delete committed since <paramref name="epoch"/> (it may be that payload).</summary>
    public void AddRead(PayloadRecord record, byte[] content, long epoch)
    {
        lock (_deletes)
        {
            if (_deleteEpoch == epoch)
            {
                Add(record, content);
            }
        }
    }

    /// <summary>Call before a delete and again once it has committed.</summary>
    public void Remove(string workspace, string id)
    {
        lock (_deletes)
        {
            _deleteEpoch++;
            _entries.Remove((workspace, id));
        }
    }

    /// <summary>Drops what the sweep at <paramref name="now"/> deleted from the database.</summary>
    public void RemoveExpired(DateTimeOffset now)
    {
        lock (_deletes)
        {
            _deleteEpoch++;
            foreach (var key in _entries.Keys)
            {
                if (_entries.TryGetValue(key, out (PayloadRecord Record, byte[] Content) entry) && entry.Record.ExpiresAt <= now)
                {
                    _entries.Remove(key);
                }
            }
        }
    }

    public void Dispose() => _entries.Dispose();
}
