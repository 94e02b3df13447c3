using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>/ws/{channel} and /publish/{channel} with a plain ClientWebSocket: the frames existing clients read.</summary>
public abstract class ChannelProtocolTests(RelayFixture relay)
{
    protected RelayFixture Relay { get; } = relay;

    [Fact]
    public async Task A_push_frame_has_url_and_ts_plus_type_channel_id_metadata_and_seq()
    {
        var channel = NewChannel();
        await using var socket = await ConnectAsync(channel);
        using var http = Relay.CreateHttpClient();
        var answer = await Http.PushJsonAsync(http, new { data = "frame me", channel, metadata = new { task_id = "7" } });

        var frame = await ReceiveAsync(socket.Socket);
        Assert.Equal(answer["url"]!.GetValue<string>(), frame["url"]!.GetValue<string>());
        Assert.InRange(frame["ts"]!.GetValue<long>(), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        Assert.Equal("push", frame["type"]!.GetValue<string>());
        Assert.Equal(channel, frame["channel"]!.GetValue<string>());
        Assert.Equal(answer["id"]!.GetValue<string>(), frame["id"]!.GetValue<string>());
        Assert.Equal("7", frame["metadata"]!["task_id"]!.GetValue<string>());
        Assert.Equal(1, frame["seq"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_push_frame_carries_the_payload_size_live_in_history_and_to_the_sdk_and_a_message_frame_has_none()
    {
        var channel = NewChannel();
        await using var socket = await ConnectAsync(channel);
        using var http = Relay.CreateHttpClient();
        var raw = await Http.PushRawAsync(http, new byte[12_345], $"?channel={channel}", contentType: "application/octet-stream");
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        await Http.PushJsonAsync(http, new { data = "héllo", channel }); // 6 bytes of UTF-8
        await http.PostAsJsonAsync($"publish/{channel}", new { data = "no payload" });

        Assert.Equal(12_345, (await ReceiveAsync(socket.Socket))["size"]!.GetValue<long>());
        Assert.Equal(6, (await ReceiveAsync(socket.Socket))["size"]!.GetValue<long>());
        Assert.False((await ReceiveAsync(socket.Socket)).ContainsKey("size"));

        var history = JsonNode.Parse(await http.GetStringAsync($"channels/{channel}/history"))!["events"]!.AsArray();
        Assert.Equal([12_345L, 6L, null], history.Select(e => e!["size"]?.GetValue<long>()));
        using var client = Relay.CreateClient();
        Assert.Equal([12_345L, 6L, null], (await client.GetHistoryAsync(channel)).Select(e => e.Size));
    }

    [Fact]
    public async Task A_publish_is_202_and_arrives_as_a_message_frame_and_seq_increases()
    {
        var channel = NewChannel();
        await using var socket = await ConnectAsync(channel);
        using var http = Relay.CreateHttpClient();
        using var published = await http.PostAsJsonAsync($"publish/{channel}", new { data = "hello", metadata = new { kind = "note" } });
        Assert.Equal(HttpStatusCode.Accepted, published.StatusCode);
        await Http.PushJsonAsync(http, new { data = "then a payload", channel });

        var message = await ReceiveAsync(socket.Socket);
        Assert.Equal("message", message["type"]!.GetValue<string>());
        Assert.Equal("hello", message["data"]!.GetValue<string>());
        Assert.Equal("note", message["metadata"]!["kind"]!.GetValue<string>());
        Assert.NotNull(message["ts"]);
        var push = await ReceiveAsync(socket.Socket);
        Assert.Equal(message["seq"]!.GetValue<long>() + 1, push["seq"]!.GetValue<long>());
    }

    [Fact]
    public async Task Since_replays_what_was_missed_then_goes_live_without_gap_or_duplicate()
    {
        var channel = NewChannel();
        using var http = Relay.CreateHttpClient();
        for (var i = 1; i <= 3; i++)
        {
            await http.PostAsJsonAsync($"publish/{channel}", new { data = $"m{i}" });
        }

        await using var socket = await ConnectAsync(channel, "?since=1");
        await http.PostAsJsonAsync($"publish/{channel}", new { data = "m4" });
        var seen = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            seen.Add((await ReceiveAsync(socket.Socket))["data"]!.GetValue<string>());
        }

        Assert.Equal(["m2", "m3", "m4"], seen);
    }

    [Fact]
    public async Task The_same_channel_name_in_two_workspaces_is_two_channels()
    {
        var channel = NewChannel();
        var otherKey = await Relay.CreateKeyAsync("iso-" + Guid.NewGuid().ToString("N")[..6]);
        await using var mine = await ConnectAsync(channel);
        await using var theirs = await ConnectAsync(channel, apiKey: otherKey);
        using var other = Relay.CreateHttpClient(otherKey);
        using var http = Relay.CreateHttpClient();

        await Http.PushJsonAsync(other, new { data = "B's payload", channel });
        await Http.PushJsonAsync(http, new { data = "A's payload", channel });

        var mineFrame = await ReceiveAsync(mine.Socket);
        var theirFrame = await ReceiveAsync(theirs.Socket);
        Assert.Equal("A's payload", await http.GetStringAsync(mineFrame["url"]!.GetValue<string>()));
        Assert.Equal("B's payload", await other.GetStringAsync(theirFrame["url"]!.GetValue<string>()));
        Assert.Equal(1, mineFrame["seq"]!.GetValue<long>());
        Assert.Equal(1, theirFrame["seq"]!.GetValue<long>());
    }

    [Fact]
    public async Task History_lists_retained_events()
    {
        var channel = NewChannel();
        using var http = Relay.CreateHttpClient();
        await http.PostAsJsonAsync($"publish/{channel}", new { data = "a" });
        await http.PostAsJsonAsync($"publish/{channel}", new { data = "b" });
        var history = await http.GetFromJsonAsync<JsonObject>($"channels/{channel}/history?since=1");
        var events = history!["events"]!.AsArray();
        Assert.Equal("b", Assert.Single(events)!["data"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_plain_get_on_ws_is_426()
    {
        using var http = Relay.CreateHttpClient();
        using var response = await http.GetAsync($"ws/{NewChannel()}");
        await Http.ReadProblemAsync(response, 426);
        Assert.Contains("websocket", response.Headers.Upgrade.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_websocket_without_a_valid_key_is_refused_with_401()
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", "Bearer cr_live_" + new string('Z', 40));
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WsUri(NewChannel()), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
    }

    [Fact]
    public async Task A_browser_authenticates_with_the_bearer_subprotocol_and_gets_contextrelay_v1_back()
    {
        var channel = NewChannel();
        using var socket = new ClientWebSocket(); // no Authorization header, as in a browser
        socket.Options.AddSubProtocol("contextrelay.v1");
        socket.Options.AddSubProtocol("contextrelay.bearer." + Relay.ApiKey);
        await socket.ConnectAsync(WsUri(channel), CancellationToken.None);
        Assert.Equal("contextrelay.v1", socket.SubProtocol); // the key is never echoed back

        using var http = Relay.CreateHttpClient();
        await http.PostAsJsonAsync($"publish/{channel}", new { data = "to the browser" });
        var buffer = new byte[4096];
        var frame = await socket.ReceiveAsync(buffer, CancellationToken.None);
        Assert.Contains("to the browser", System.Text.Encoding.UTF8.GetString(buffer, 0, frame.Count), StringComparison.Ordinal);

        using var wrong = new ClientWebSocket();
        wrong.Options.CollectHttpResponseDetails = true;
        wrong.Options.AddSubProtocol("contextrelay.v1");
        wrong.Options.AddSubProtocol("contextrelay.bearer.cr_live_" + new string('W', 40));
        await Assert.ThrowsAsync<WebSocketException>(() => wrong.ConnectAsync(WsUri(channel), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.HttpStatusCode);
    }

    [Fact]
    public async Task Publish_rejects_bad_bodies_and_channel_names_with_400()
    {
        using var http = Relay.CreateHttpClient();
        await Http.ReadProblemAsync(await http.PostAsJsonAsync($"publish/{NewChannel()}", new { text = "no data" }), 400);
        await Http.ReadProblemAsync(await http.PostAsJsonAsync("publish/-bad", new { data = "x" }), 400);
    }

    protected static string NewChannel() => "ch-" + Guid.NewGuid().ToString("N")[..10];

    protected Uri WsUri(string channel, string query = "") => new(Relay.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + $"/ws/{channel}{query}");

    protected async Task<Connected> ConnectAsync(string channel, string query = "", string? apiKey = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + (apiKey ?? Relay.ApiKey));
        await socket.ConnectAsync(WsUri(channel, query), CancellationToken.None);
        return new Connected(socket);
    }

    protected static async Task<JsonObject> ReceiveAsync(WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Wait.Default);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(message.ToArray()))!;
    }

    protected sealed class Connected(ClientWebSocket socket) : IAsyncDisposable
    {
        public ClientWebSocket Socket { get; } = socket;

        public async ValueTask DisposeAsync()
        {
            if (Socket.State == WebSocketState.Open)
            {
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }

            Socket.Dispose();
        }
    }
}

public sealed class SqliteChannelProtocolTests(SqliteRelayFixture relay) : ChannelProtocolTests(relay), IClassFixture<SqliteRelayFixture>;
