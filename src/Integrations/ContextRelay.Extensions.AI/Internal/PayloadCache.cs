namespace CtxRelay;

/// <summary>
/// Keeps the text of recently pulled payloads for a few minutes, so that paging through a large payload
/// with pull_context downloads it once instead of once per page. Bounded by total size (least recently
/// used first out); a payload larger than the whole budget is not kept and is downloaded again for each
/// page, which is correct, only slower. Payloads never change once pushed, so a cached copy is never
/// stale; at worst one that was deleted on the relay stays readable here until it ages out.
/// </summary>
internal sealed class PayloadCache
{
    /// <summary>16 M characters: 32 MB of UTF-16.</summary>
    public const long DefaultCapacityChars = 16L * 1024 * 1024;

    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(5);

    private readonly Lock _lock = new();
    private readonly LinkedList<Entry> _recent = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _byKey = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly long _capacityChars;
    private readonly TimeSpan _lifetime;
    private long _totalChars;

    public PayloadCache()
        : this(TimeProvider.System, DefaultCapacityChars, DefaultLifetime)
    {
    }

    internal PayloadCache(TimeProvider time, long capacityChars, TimeSpan lifetime)
    {
        _time = time;
        _capacityChars = capacityChars;
        _lifetime = lifetime;
    }

    public long TotalChars
    {
        get
        {
            lock (_lock)
            {
                return _totalChars;
            }
        }
    }

    /// <param name="key">The URL exactly as given, key fragment included, so a wrong key never reads a right key's text.</param>
    public bool TryGet(string key, out string text)
    {
        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var node))
            {
                if (_time.GetUtcNow() - node.Value.LastUsed <= _lifetime)
                {
                    node.Value.LastUsed = _time.GetUtcNow();
                    _recent.Remove(node);
                    _recent.AddFirst(node);
                    text = node.Value.Text;
                    return true;
                }

                Remove(node);
            }

            text = string.Empty;
            return false;
        }
    }

    public void Add(string key, string text)
    {
        if (text.Length > _capacityChars)
        {
            return;
        }

        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var existing))
            {
                Remove(existing);
            }

            var now = _time.GetUtcNow();
            while (_recent.Last is { } oldest && (_totalChars + text.Length > _capacityChars || now - oldest.Value.LastUsed > _lifetime))
            {
                Remove(oldest);
            }

            var node = _recent.AddFirst(new Entry(key, text) { LastUsed = now });
            _byKey[key] = node;
            _totalChars += text.Length;
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _recent.Remove(node);
        _byKey.Remove(node.Value.Key);
        _totalChars -= node.Value.Text.Length;
    }

    private sealed record Entry(string Key, string Text)
    {
        public DateTimeOffset LastUsed { get; set; }
    }
}
