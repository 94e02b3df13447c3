using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CtxRelay.Relay.Tests;

/// <summary>The relays of the hostile-input suite: short timeouts and a small per-key WebSocket cap.</summary>
public class HostileFixture : RelayFixture
{
    internal static IDictionary<string, string?> WithLimits(IDictionary<string, string?> settings)
    {
        settings["Relay:RequestHeadersTimeout"] = "00:00:01";
        settings["Relay:MinUploadBytesPerSecond"] = "2000";
        settings["Relay:UploadGracePeriod"] = "00:00:02";
        settings["Relay:MaxWebSocketsPerKey"] = "3";
        settings["Relay:SubscriberBuffer"] = "16";
        settings["Relay:KeepAliveInterval"] = "00:00:01";
        return settings;
    }

    protected override IDictionary<string, string?> Settings => WithLimits(new Dictionary<string, string?>());
}

public sealed class RedisHostileFixture : RedisRelayFixture
{
    protected override IDictionary<string, string?> Settings => HostileFixture.WithLimits(base.Settings);
}

/// <summary>
/// Broken and hostile clients: each gets a clear 4xx (or its connection closed), nothing is stored, and the
/// relay keeps serving everyone else. Run on each engine.
/// </summary>
public abstract class HostileInputTests(RelayFixture relay)
{
    [Fact]
    public async Task A_body_shorter_than_its_content_length_is_refused_and_nothing_is_stored()
    {
        var (key, http) = await NewWorkspaceAsync();
        var answer = await RawRequestAsync(key, "POST /push HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nonly ten b", halfClose: true);
        Assert.DoesNotContain(" 200 ", answer.Split('\n')[0], StringComparison.Ordinal);
        await AssertNothingStoredAsync(http);
    }

    [Fact]
    public async Task Slowloris_headers_are_cut_off_while_others_are_served()
    {
        var (key, http) = await NewWorkspaceAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, new Uri(relay.BaseUrl).Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"));

        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("push", new { data = "served meanwhile" })).StatusCode);
        var closed = await Wait.For(ReadToEndAsync(stream), "the relay to drop the slow client", TimeSpan.FromSeconds(15));
        Assert.True(closed.Length == 0 || closed.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), closed);
    }

    [Fact]
    public async Task A_slow_drip_upload_is_cut_off_and_nothing_is_stored()
    {
        var (key, http) = await NewWorkspaceAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, new Uri(relay.BaseUrl).Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"));
        var answer = ReadToEndAsync(stream);
        var dripping = Task.Run(async () =>
        {
            try
            {
                while (!answer.IsCompleted)
                {
                    await stream.WriteAsync("drip drip "u8.ToArray());
                    await Task.Delay(300);
                }
            }
            catch (IOException)
            {
                // the relay hung up, as it should
            }
        });

        var text = await Wait.For(answer, "the relay to cut off the slow upload", TimeSpan.FromSeconds(20));
        await dripping;
        Assert.True(text.Length == 0 || text.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), text);
        await AssertNothingStoredAsync(http);
    }

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("7c0a")]
    [InlineData("00000000-0000-0000-0000-00000000000g")]
    public async Task Ids_that_are_not_uuids_are_400_for_pull_peek_and_delete(string id)
    {
        var (_, http) = await NewWorkspaceAsync();
        foreach (var response in new[] { await http.GetAsync($"pull/{id}"), await http.GetAsync($"peek/{id}"), await http.DeleteAsync($"pull/{id}") })
        {
            var problem = await Http.ReadProblemAsync(response, 400);
            Assert.Contains("not a payload id", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    public static TheoryData<string> BadChannels => new() { "a/b", "..", "a\u0001b", "tab\there", new string('c', 10 * 1024), "-leading-dash", "spa ce", "é" };

    [Theory]
    [MemberData(nameof(BadChannels))]
    public async Task Channel_names_outside_the_grammar_are_refused_by_push_publish_subscribe_and_history(string channel)
    {
        var (key, http) = await NewWorkspaceAsync();
        await Http.ReadProblemAsync(await http.PostAsJsonAsync("push", new { data = "x", channel }), 400);
        using (var raw = await Http.PushRawAsync(http, "x"u8.ToArray(), "?channel=" + Uri.EscapeDataString(channel)))
        {
            Assert.Contains((int)raw.StatusCode, new[] { 400, 414 }); // 414: a 10 KB name does not fit the request line
        }

        var escaped = Uri.EscapeDataString(channel);
        foreach (var response in new[] { await http.PostAsJsonAsync($"publish/{escaped}", new { data = "x" }), await http.GetAsync($"channels/{escaped}/history") })
        {
            Assert.InRange((int)response.StatusCode, 400, 414); // 400 problem; 404 when '/' splits the path; 414 for 10 KB in the URL
        }

        if (channel == "..")
        {
            await AssertNothingStoredAsync(http);
            return; // URL clients resolve the dot segment before sending (/ws/.. is /): no channel name reaches the relay
        }

        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", "Bearer " + key);
        await Assert.ThrowsAnyAsync<WebSocketException>(() => socket.ConnectAsync(new Uri(relay.BaseUrl.Replace("http", "ws", StringComparison.Ordinal) + "/ws/" + escaped), CancellationToken.None));
        Assert.InRange((int)socket.HttpStatusCode, 400, 414);
        await AssertNothingStoredAsync(http);
    }

    [Fact]
    public async Task Metadata_bombs_are_400_and_nothing_is_stored()
    {
        var (_, http) = await NewWorkspaceAsync();
        var deep = new string('[', 5000) + new string(']', 5000);
        var wide = "{" + string.Join(',', Enumerable.Range(0, 5000).Select(i => $"\"k{i}\":{i}")) + "}";
        await Http.ReadProblemAsync(await Http.PushRawAsync(http, "x"u8.ToArray(), metadata: "{\"a\":" + deep + "}"), 400);
        await Http.ReadProblemAsync(await Http.PushRawAsync(http, "x"u8.ToArray(), metadata: wide), 400);
        foreach (var envelope in new[] { "{\"data\":\"x\",\"metadata\":{\"a\":" + deep + "}}", "{\"data\":\"x\",\"metadata\":" + wide + "}", "{\"data\":" + deep + "}" })
        {
            using var content = new StringContent(envelope, Encoding.UTF8, "application/json");
            await Http.ReadProblemAsync(await http.PostAsync("push", content), 400);
        }

        using var publish = new StringContent("{\"data\":\"x\",\"metadata\":{\"a\":" + deep + "}}", Encoding.UTF8, "application/json");
        await Http.ReadProblemAsync(await http.PostAsync("publish/meta", publish), 400);
        await AssertNothingStoredAsync(http);
    }

    [Fact]
    public async Task A_gzip_request_body_is_415_and_never_decompressed()
    {
        var (_, http) = await NewWorkspaceAsync();
        using var packed = new MemoryStream();
        await using (var gzip = new GZipStream(packed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(new byte[50 * 1024 * 1024]); // 50 MB of zeros in ~50 KB: a decompression bomb
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "push") { Content = new ByteArrayContent(packed.ToArray()) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        request.Content.Headers.ContentEncoding.Add("gzip");
        var problem = await Http.ReadProblemAsync(await http.SendAsync(request), 415);
        Assert.Contains("uncompressed", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await AssertNothingStoredAsync(http);
    }

    [Fact]
    public async Task A_key_in_the_query_string_is_refused_even_with_a_valid_header()
    {
        var (key, http) = await NewWorkspaceAsync();
        foreach (var name in new[] { "api_key", "token", "key" })
        {
            var problem = await Http.ReadProblemAsync(await http.GetAsync($"channels/c/history?{name}={key}"), 400);
            Assert.Contains("Authorization", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.DoesNotContain(key, problem.ToJsonString(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("channels/c/history")).StatusCode);
    }

    [Fact]
    public async Task One_key_may_hold_only_its_share_of_websockets()
    {
        var (key, _) = await NewWorkspaceAsync();
        var sockets = new List<ClientWebSocket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                sockets.Add(await ConnectAsync(key, "crowded"));
            }

            using var refused = new ClientWebSocket();
            refused.Options.CollectHttpResponseDetails = true;
            refused.Options.SetRequestHeader("Authorization", "Bearer " + key);
            await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(WsUri("crowded"), CancellationToken.None));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.HttpStatusCode);

            await sockets[0].CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            await Wait.Until(
                async () =>
                {
                    try
                    {
                        sockets.Add(await ConnectAsync(key, "crowded"));
                        return true;
                    }
                    catch (WebSocketException)
                    {
                        return false;
                    }
                },
                "a closed socket's place to be free again",
                TimeSpan.FromSeconds(10));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_subscriber_that_never_reads_is_disconnected_while_a_reading_one_gets_everything()
    {
        var (key, http) = await NewWorkspaceAsync();
        using var stuck = await ConnectAsync(key, "firehose"); // never reads
        using var reader = relay.CreateClient(key);
        await using var subscription = await reader.OpenSubscriptionAsync("firehose");
        var message = new string('m', 64 * 1024);
        for (var i = 0; i < 300; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync("publish/firehose", new { data = message, metadata = new { i } })).StatusCode);
        }

        var received = 0;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await foreach (var relayEvent in subscription.ReadAllAsync(timeout.Token))
            {
                Assert.Equal(message, relayEvent.Data);
                if (++received == 300)
                {
                    break;
                }
            }
        }

        // The stuck subscriber was cut off: at most its buffer (16 events) and what the socket held reach it, then the end.
        var frames = 0;
        var ended = await Wait.For(
            Task.Run(async () =>
            {
                var buffer = new byte[128 * 1024];
                try
                {
                    while (true)
                    {
                        var result = await stuck.ReceiveAsync(buffer, CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close)
                        {
                            return true;
                        }

                        frames += result.EndOfMessage ? 1 : 0;
                    }
                }
                catch (WebSocketException)
                {
                    return true; // aborted by the relay
                }
            }),
            "the relay to drop the subscriber that never reads",
            TimeSpan.FromSeconds(30));
        Assert.True(ended);
        Assert.InRange(frames, 0, 299);
    }

    [Theory]
    [InlineData(WebSocketMessageType.Binary, 16, 1003)]
    [InlineData(WebSocketMessageType.Text, 200 * 1024, 1009)]
    public async Task A_subscriber_sending_binary_or_oversized_frames_is_closed_with_a_code_that_says_why(WebSocketMessageType type, int size, int expected)
    {
        var (key, http) = await NewWorkspaceAsync();
        using var hostile = await ConnectAsync(key, "frames");
        using var bystander = await ConnectAsync(key, "frames");
        await hostile.SendAsync(new byte[size], type, endOfMessage: true, CancellationToken.None);

        var buffer = new byte[4096];
        var closed = await Wait.For(hostile.ReceiveAsync(buffer, CancellationToken.None), "the relay to close the session", TimeSpan.FromSeconds(10));
        Assert.Equal(WebSocketMessageType.Close, closed.MessageType);
        Assert.Equal(expected, (int)closed.CloseStatus!);
        Assert.False(string.IsNullOrEmpty(closed.CloseStatusDescription));

        await http.PostAsJsonAsync("publish/frames", new { data = "others are still served" });
        var frame = await Wait.For(bystander.ReceiveAsync(buffer, CancellationToken.None), "the bystander's event", TimeSpan.FromSeconds(10));
        Assert.Contains("others are still served", Encoding.UTF8.GetString(buffer, 0, frame.Count), StringComparison.Ordinal);
    }

    private async Task<(string Key, HttpClient Http)> NewWorkspaceAsync()
    {
        var key = await relay.CreateKeyAsync("hostile-" + Guid.NewGuid().ToString("N")[..8]);
        return (key, relay.CreateHttpClient(key));
    }

    private static async Task AssertNothingStoredAsync(HttpClient http)
    {
        var usage = await http.GetFromJsonAsync<JsonObject>("usage");
        Assert.Equal(0, usage!["stored_bytes"]!["used"]!.GetValue<long>());
    }

    private Uri WsUri(string channel) => new(relay.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws/" + channel);

    private async Task<ClientWebSocket> ConnectAsync(string key, string channel)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + key);
        try
        {
            await socket.ConnectAsync(WsUri(channel), CancellationToken.None);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task<string> RawRequestAsync(string key, string request, bool halfClose)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, new Uri(relay.BaseUrl).Port);
        var stream = tcp.GetStream();
        var withAuth = request.Replace("HTTP/1.1\r\n", $"HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n", StringComparison.Ordinal);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(withAuth));
        if (halfClose)
        {
            tcp.Client.Shutdown(SocketShutdown.Send);
        }

        return await Wait.For(ReadToEndAsync(stream), "the relay's answer", TimeSpan.FromSeconds(15));
    }

    private static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (IOException)
        {
            // reset by the relay: also an end
        }

        return text.ToString();
    }
}

public sealed class SqliteHostileInputTests(HostileFixture relay) : HostileInputTests(relay), IClassFixture<HostileFixture>;

public sealed class RedisHostileInputTests(RedisHostileFixture relay) : HostileInputTests(relay), IClassFixture<RedisHostileFixture>;

/// <summary>What needs a relay of its own: guessing keys, a full store, and what reaches the logs.</summary>
public sealed class HostileRelayTests
{
    [Fact]
    public async Task Guessing_keys_from_one_address_is_throttled_with_429_for_a_minute()
    {
        using var data = new TemporaryDirectory("brute");
        await using var relay = await RelayServer.StartAsync(new Dictionary<string, string?> { ["Relay:DataDirectory"] = data.Path, ["Relay:FailedAuthLimit"] = "5", ["Logging:LogLevel:Default"] = "Warning" });
        var valid = await relay.CreateKeyAsync("brute");
        using var http = new HttpClient { BaseAddress = relay.BaseUrl };
        for (var i = 0; i < 5; i++)
        {
            await Http.ReadProblemAsync(await SendWithKeyAsync(http, "cr_live_" + new string((char)('A' + i), 40)), 401);
        }

        using var blocked = await SendWithKeyAsync(http, "cr_live_" + new string('Z', 40));
        await Http.ReadProblemAsync(blocked, 429);
        Assert.InRange(blocked.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        await Http.ReadProblemAsync(await SendWithKeyAsync(http, valid), 429); // a lucky guess would not get through either
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode); // the relay serves on
    }

    [Fact]
    public async Task A_full_sqlite_store_answers_507_stores_nothing_half_and_recovers_when_space_returns()
    {
        using var data = new TemporaryDirectory("full");
        await using var relay = await RelayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Relay:DataDirectory"] = data.Path,
            ["Storage:SqliteMaxBytes"] = (3 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Critical",
        });
        await AssertFullAndRecoveryAsync(relay);
    }

    [Fact]
    public async Task A_full_redis_answers_507_stores_nothing_half_and_recovers_when_space_returns()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        using var data = new TemporaryDirectory("full-redis");
        await using var relay = await RelayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Relay:DataDirectory"] = data.Path,
            ["Storage:Engine"] = "redis",
            ["Storage:Redis"] = redis.ConnectionString,
            ["Logging:LogLevel:Default"] = "Critical",
        });
        using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(redis.ConnectionString);
        var used = long.Parse((await server.InfoAsync("memory")).SelectMany(g => g).Single(p => p.Key == "used_memory").Value, System.Globalization.CultureInfo.InvariantCulture);
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await server.ConfigSetAsync("maxmemory", (used + (3 * 1024 * 1024)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await AssertFullAndRecoveryAsync(relay);
    }

    [Fact]
    public async Task No_payload_metadata_or_key_reaches_the_logs_and_no_error_shows_a_stack_trace_path_or_type()
    {
        var lines = new ConcurrentQueue<string>();
        using var data = new TemporaryDirectory("logs");
        await using var relay = await RelayServer.StartAsync(
            new Dictionary<string, string?> { ["Relay:DataDirectory"] = data.Path, ["Logging:LogLevel:Default"] = "Information", ["Logging:LogLevel:Microsoft"] = "Information" },
            builder => builder.Logging.AddProvider(new CollectingLoggerProvider(lines)));
        var key = await relay.CreateKeyAsync("logs");
        var revoked = await relay.CreateKeyAsync("logs");
        using var http = new HttpClient { BaseAddress = relay.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);

        const string secretText = "SECRET-PAYLOAD-7731";
        const string secretMeta = "SECRET-META-4412";
        var id = (await Http.PushJsonAsync(http, new { data = secretText, channel = "logs", metadata = new { note = secretMeta } }))["id"]!.GetValue<string>();
        Assert.Equal(secretText, await http.GetStringAsync($"pull/{id}"));
        await http.GetAsync($"peek/{id}");
        await http.PostAsJsonAsync("publish/logs", new { data = secretText, metadata = new { note = secretMeta } });
        await Http.PushRawAsync(http, Encoding.UTF8.GetBytes(secretText), metadata: $"{{\"note\":\"{secretMeta}\"}}");
        var store = relay.Services.GetRequiredService<Storage.IRelayStore>();
        var keys = await store.ListKeysAsync(default);
        await store.RevokeKeyAsync(keys[^1].Id, DateTimeOffset.UtcNow, default);

        var errors = new List<HttpResponseMessage>
        {
            await SendWithKeyAsync(http, revoked),
            await SendWithKeyAsync(http, "cr_live_" + new string('Q', 40)),
            await http.GetAsync($"channels/logs/history?api_key={key}"),
            await http.PostAsync("push", new StringContent("{\"data\":", Encoding.UTF8, "application/json")),
            await http.GetAsync("pull/not-an-id"),
            await http.GetAsync($"pull/{Guid.NewGuid()}"),
            await http.GetAsync("no/such/route"),
        };
        foreach (var error in errors)
        {
            var body = await error.Content.ReadAsStringAsync();
            Assert.True((int)error.StatusCode >= 400, body);
            foreach (var leak in new[] { "   at ", "Exception", "CtxRelay.", "/work/", data.Path, ".cs:line", secretText, key, revoked })
            {
                Assert.DoesNotContain(leak, body, StringComparison.Ordinal);
            }
        }

        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            foreach (var secret in new[] { secretText, secretMeta, key, revoked, key[8..], revoked[8..] })
            {
                Assert.DoesNotContain(secret, line, StringComparison.Ordinal);
            }
        }
    }

    private static async Task AssertFullAndRecoveryAsync(RelayServer relay)
    {
        using var http = new HttpClient { BaseAddress = relay.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", await relay.CreateKeyAsync("full"));
        var chunk = new string('x', 1200 * 1024);
        var first = (await Http.PushJsonAsync(http, new { data = chunk }))["id"]!.GetValue<string>();

        var refused = await http.PostAsJsonAsync("push", new { data = new string('y', 4 * 1024 * 1024) });
        var problem = await Http.ReadProblemAsync(refused, 507);
        Assert.Contains("nothing was stored", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var usage = await http.GetFromJsonAsync<JsonObject>("usage");
        Assert.Equal(chunk.Length, usage!["stored_bytes"]!["used"]!.GetValue<long>());
        Assert.Equal(chunk, await http.GetStringAsync($"pull/{first}"));

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"pull/{first}")).StatusCode);
        var again = (await Http.PushJsonAsync(http, new { data = chunk }))["id"]!.GetValue<string>();
        Assert.Equal(chunk, await http.GetStringAsync($"pull/{again}"));
    }

    private static Task<HttpResponseMessage> SendWithKeyAsync(HttpClient http, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "channels/c/history");
        request.Headers.Authorization = new("Bearer", key);
        return http.SendAsync(request);
    }

    private sealed class CollectingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collector(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Collector(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
