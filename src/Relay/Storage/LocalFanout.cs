using System.Collections.Concurrent;

namespace CtxRelay.Relay.Storage;

/// <summary>
/// In-process fan-out of channel events to the subscribers connected to this relay. Callbacks run on
/// the publishing thread and must be quick (subscribers hand events to their own bounded queue).
/// </summary>
internal sealed class LocalFanout
{
    private readonly ConcurrentDictionary<(string Workspace, string Channel), Subscribers> _channels = new();

    public IAsyncDisposable Subscribe(string workspace, string channel, Func<ChannelEvent, ValueTask> onEvent)
    {
        var key = (workspace, channel);
        while (true)
        {
            var subscribers = _channels.GetOrAdd(key, static _ => new Subscribers());
            lock (subscribers)
            {
                if (subscribers.Removed)
                {
                    continue; // lost a race with the last unsubscribe; take the fresh entry
                }

                subscribers.List = [.. subscribers.List, onEvent];
            }

            return new Unsubscriber(this, key, subscribers, onEvent);
        }
    }

    public bool HasSubscribers(string workspace, string channel) => _channels.ContainsKey((workspace, channel));

    public async ValueTask PublishAsync(string workspace, string channel, ChannelEvent channelEvent)
    {
        if (!_channels.TryGetValue((workspace, channel), out var subscribers))
        {
            return;
        }

        foreach (var onEvent in subscribers.List)
        {
            await onEvent(channelEvent).ConfigureAwait(false);
        }
    }

    private void Remove((string, string) key, Subscribers subscribers, Func<ChannelEvent, ValueTask> onEvent)
    {
        lock (subscribers)
        {
            subscribers.List = subscribers.List.Where(s => s != onEvent).ToArray();
            if (subscribers.List.Length == 0)
            {
                subscribers.Removed = true;
                _channels.TryRemove(new KeyValuePair<(string, string), Subscribers>(key, subscribers));
            }
        }
    }

    private sealed class Subscribers
    {
        public volatile Func<ChannelEvent, ValueTask>[] List = [];
        public bool Removed;
    }

    private sealed class Unsubscriber(LocalFanout owner, (string, string) key, Subscribers subscribers, Func<ChannelEvent, ValueTask> onEvent) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(key, subscribers, onEvent);
            }

            return ValueTask.CompletedTask;
        }
    }
}
