using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace CtxRelay.Harness;

/// <summary>
/// Publish → delivery latency. Each published message carries a marker <c>pub#N#</c>; the publisher takes the
/// time just before it sends message N, each subscriber connection the time its frame (or RESP line) with the
/// marker arrives. The next message is published once every subscriber has the previous one.
/// </summary>
internal sealed class Deliveries(int messages, int subscribers)
{
    private readonly long[] _sentAt = new long[messages];
    private readonly long[][] _receivedAt = Enumerable.Range(0, messages).Select(_ => new long[subscribers]).ToArray();
    private readonly int[] _received = new int[messages];
    private readonly TaskCompletionSource[] _complete = Enumerable.Range(0, messages).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();

    public static string Marker(int message) => $"pub#{message}#";

    /// <summary>Records a delivery if <paramref name="text"/> holds a marker.</summary>
    public void Received(ReadOnlySpan<char> text, long at)
    {
        var start = text.IndexOf("pub#", StringComparison.Ordinal);
        if (start < 0)
        {
            return;
        }

        var digits = text[(start + 4)..];
        var end = digits.IndexOf('#');
        if (end <= 0 || !int.TryParse(digits[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var message) || message >= _sentAt.Length)
        {
            return;
        }

        var slot = Interlocked.Increment(ref _received[message]) - 1;
        if (slot < subscribers)
        {
            _receivedAt[message][slot] = at;
        }

        if (slot == subscribers - 1)
        {
            _complete[message].TrySetResult();
        }
    }

    /// <summary>Publishes messages [from, from+count) one after the other, each once all subscribers have the one before.</summary>
    public async Task PublishAsync(int from, int count, Func<string, Task> publish)
    {
        for (var message = from; message < from + count; message++)
        {
            _sentAt[message] = Stopwatch.GetTimestamp();
            await publish(Marker(message));
            try
            {
                await _complete[message].Task.WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"message {message}: only {Volatile.Read(ref _received[message])} of {subscribers} subscribers got it within 15 s");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Delivery latencies (ms) of messages [from, from+count), one per subscriber per message.</summary>
    public List<double> Latencies(int from, int count)
    {
        var latencies = new List<double>(count * subscribers);
        for (var message = from; message < from + count; message++)
        {
            foreach (var at in _receivedAt[message])
            {
                latencies.Add(Stopwatch.GetElapsedTime(_sentAt[message], at).TotalMilliseconds);
            }
        }

        return latencies;
    }
}

/// <summary>N subscriber connections (WebSockets on the relay, or RESP connections on Redis), each with a receive loop.</summary>
internal sealed class Subscribers : IAsyncDisposable
{
    private const int ConnectParallelism = 32;

    private readonly List<IDisposable> _connections = [];
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();

    public int Count => _connections.Count;

    /// <summary>Relay WebSocket subscribers of <paramref name="channel"/>, with the key in the Authorization header.</summary>
    public static Task<Subscribers> RelayAsync(string relayBaseUrl, string key, string channel, int count, Deliveries? deliveries)
        => ConnectAsync(count, async subscribers =>
        {
            var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Bearer " + key);
            await socket.ConnectAsync(new Uri(relayBaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws/" + channel), subscribers._stop.Token);
            return (socket, ReceiveAsync(socket, deliveries, subscribers._stop.Token));
        });

    /// <summary>Redis SUBSCRIBE connections (raw RESP over TCP, one connection each).</summary>
    public static Task<Subscribers> RedisAsync(int port, string channel, int count, Deliveries? deliveries)
        => ConnectAsync(count, async subscribers =>
        {
            var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(IPAddress.Loopback, port, subscribers._stop.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"SUBSCRIBE {channel}\r\n"), subscribers._stop.Token);
            var reader = new StreamReader(stream, Encoding.UTF8);
            while (await reader.ReadLineAsync(subscribers._stop.Token) is { } line && !line.StartsWith(':'))
            {
                // *3 / $9 / subscribe / $n / channel / :1 — subscribed once the count arrives
            }

            return (client, ReceiveAsync(reader, deliveries, subscribers._stop.Token));
        });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }

        await Task.WhenAll(_loops);
        _stop.Dispose();
    }

    private static async Task<Subscribers> ConnectAsync(int count, Func<Subscribers, Task<(IDisposable Connection, Task Loop)>> connect)
    {
        var subscribers = new Subscribers();
        using var gate = new SemaphoreSlim(ConnectParallelism);
        var connecting = Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                return await connect(subscribers).WaitAsync(TimeSpan.FromSeconds(30));
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(connecting);
        }
        finally
        {
            foreach (var done in connecting.Where(t => t.IsCompletedSuccessfully))
            {
                subscribers._connections.Add(done.Result.Connection);
                subscribers._loops.Add(done.Result.Loop);
            }
        }

        return subscribers;
    }

    private static async Task ReceiveAsync(ClientWebSocket socket, Deliveries? deliveries, CancellationToken stop)
    {
        await Task.Yield();
        var buffer = new byte[4096];
        var filled = 0;
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(filled), stop);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var at = Stopwatch.GetTimestamp();
                filled += result.Count;
                if (!result.EndOfMessage)
                {
                    filled = filled == buffer.Length ? 0 : filled; // a frame this big carries no marker: drop it
                    continue;
                }

                deliveries?.Received(Encoding.UTF8.GetString(buffer, 0, filled), at);
                filled = 0;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task ReceiveAsync(StreamReader reader, Deliveries? deliveries, CancellationToken stop)
    {
        try
        {
            while (await reader.ReadLineAsync(stop) is { } line)
            {
                deliveries?.Received(line, Stopwatch.GetTimestamp());
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }
}

/// <summary>Publishers: the relay's POST /publish, and Redis PUBLISH on one raw RESP connection.</summary>
internal static class Publishers
{
    public static Func<string, Task> Relay(HttpClient relay, string channel) => async data =>
    {
        using var response = await relay.PostAsJsonAsync("publish/" + channel, new { data });
        response.EnsureSuccessStatusCode();
    };

    public static async Task<(Func<string, Task> Publish, IDisposable Connection)> RedisAsync(int port, string channel)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.ASCII);
        return (async data =>
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"PUBLISH {channel} {data}\r\n"));
            var reply = await reader.ReadLineAsync();
            if (reply is null || !reply.StartsWith(':'))
            {
                throw new InvalidOperationException($"PUBLISH answered {reply}");
            }
        }, client);
    }
}
