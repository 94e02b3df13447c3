using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// What a plain subscriber holds between events is kept small (no receive buffer, no send loop while idle);
/// these check that it still behaves across idle spells with fast keep-alives (1 s), and with the channel
/// protocol suite run under them.
/// </summary>
public sealed class IdleWebSocketSubscriberTests(IdleWebSocketSubscriberTests.Fixture relay) : ChannelProtocolTests(relay), IClassFixture<IdleWebSocketSubscriberTests.Fixture>
{
    [Fact]
    public async Task An_idle_subscriber_answers_keep_alives_both_ways_and_still_gets_the_next_event()
    {
        var channel = NewChannel();
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + Relay.ApiKey);
        socket.Options.KeepAliveInterval = TimeSpan.FromMilliseconds(300); // the client pings the relay too
        socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(1);
        await socket.ConnectAsync(WsUri(channel), CancellationToken.None);
        var receiving = ReceiveAsync(socket);

        // Idle through several keep-alive rounds (the relay pings every second and drops a peer that does not
        // answer within a second; the client drops a relay that does not answer its pings): the session survives.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal(WebSocketState.Open, socket.State);
        Assert.False(receiving.IsCompleted);

        using var http = Relay.CreateHttpClient();
        await http.PostAsJsonAsync($"publish/{channel}", new { data = "after a quiet spell" });
        var frame = await receiving;
        Assert.Equal("after a quiet spell", frame["data"]!.GetValue<string>());
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    [Fact]
    public async Task Text_a_plain_subscriber_sends_large_or_small_does_not_end_its_session()
    {
        var channel = NewChannel();
        await using var connected = await ConnectAsync(channel);
        await connected.Socket.SendAsync(Encoding.UTF8.GetBytes(new string('x', 20_000)), WebSocketMessageType.Text, true, CancellationToken.None);
        await connected.Socket.SendAsync("{}"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);

        using var http = Relay.CreateHttpClient();
        await http.PostAsJsonAsync($"publish/{channel}", new { data = "still here" });
        Assert.Equal("still here", (await ReceiveAsync(connected.Socket))["data"]!.GetValue<string>());
    }

    public sealed class Fixture : RelayFixture
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            ["Storage:Engine"] = "sqlite",
            ["Relay:KeepAliveInterval"] = "00:00:01",
        };
    }
}

/// <summary>A subscriber that stops reading is bounded: a small buffer (4 events), then 1008 and resume with since=.</summary>
public sealed class SlowWebSocketSubscriberTests(SlowWebSocketSubscriberTests.Fixture relay) : ChannelProtocolTests(relay), IClassFixture<SlowWebSocketSubscriberTests.Fixture>
{
    private const int Buffer = 4;

    [Fact]
    public async Task A_subscriber_that_stops_reading_is_closed_with_1008_and_resumes_with_since_without_a_gap()
    {
        const int Published = 100;
        var channel = NewChannel();
        await using var stalled = await ConnectAsync(channel);

        // 25 MB: more than the loopback socket buffers hold, so the relay's sends block and its queue of
        // Buffer events fills while this client reads nothing.
        using var http = Relay.CreateHttpClient();
        var data = new string('d', 256 * 1024);
        for (var i = 1; i <= Published; i++)
        {
            (await http.PostAsJsonAsync($"publish/{channel}", new { data })).EnsureSuccessStatusCode();
        }

        var lastSeq = 0L;
        while (await ReceiveFrameOrCloseAsync(stalled.Socket) is { } frame)
        {
            var seq = frame["seq"]!.GetValue<long>();
            Assert.Equal(lastSeq + 1, seq);
            lastSeq = seq;
        }

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, stalled.Socket.CloseStatus);
        Assert.Contains("since=", stalled.Socket.CloseStatusDescription, StringComparison.Ordinal);
        Assert.InRange(lastSeq, 0, Published - 1);

        await using var resumed = await ConnectAsync(channel, $"?since={lastSeq}");
        while (lastSeq < Published)
        {
            var seq = (await ReceiveAsync(resumed.Socket))["seq"]!.GetValue<long>();
            Assert.Equal(lastSeq + 1, seq);
            lastSeq = seq;
        }
    }

    /// <summary>The next text frame, or null once the relay closed the socket.</summary>
    private static async Task<JsonObject?> ReceiveFrameOrCloseAsync(WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Wait.Default);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(message.ToArray()))!;
    }

    public sealed class Fixture : RelayFixture
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            ["Storage:Engine"] = "sqlite",
            ["Relay:SubscriberBuffer"] = Buffer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
