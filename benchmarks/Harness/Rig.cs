using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CtxRelay.Testing;

namespace CtxRelay.Harness;

/// <summary>
/// What one engine's run needs on loopback: a temp folder, a redis-server with <c>appendfsync always</c> (the
/// Redis references, and the store of the redis engine), and the relay as its own process (Release build,
/// the same binary users run) with a fresh dev key.
/// </summary>
internal sealed class Rig : IAsyncDisposable
{
    private readonly TemporaryDirectory _folder;

    private Rig(string engine, TemporaryDirectory folder, RedisServerProcess redis, string apiKey)
    {
        Engine = engine;
        _folder = folder;
        Redis = redis;
        ApiKey = apiKey;
    }

    public string Engine { get; }

    public string Folder => _folder.Path;

    public RedisServerProcess Redis { get; }

    public string ApiKey { get; }

    /// <summary>The relay the throughput and latency parts use (memory parts start their own).</summary>
    public RelayProcess Relay { get; private set; } = null!;

    public HttpClient RelayHttp { get; private set; } = null!;

    /// <summary>Where the engine's durable writes land: the relay's SQLite folder, or Redis's append-only file.</summary>
    public string DurableFolder => Path.Combine(Folder, Engine == "sqlite" ? "relay-main" : "redis");

    public static async Task<Rig> StartAsync(string engine)
    {
        var folder = new TemporaryDirectory("bench");
        var redis = await RedisServerProcess.StartAsync(Path.Combine(folder.Path, "redis"));
        var key = "cr_live_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40);
        var rig = new Rig(engine, folder, redis, key);
        rig.Relay = await rig.StartRelayAsync("main");
        rig.RelayHttp = rig.CreateHttpClient(rig.Relay);
        return rig;
    }

    /// <summary>A fresh relay process of this engine: its own data folder (sqlite) or key prefix (redis).</summary>
    public Task<RelayProcess> StartRelayAsync(string name)
    {
        var environment = new Dictionary<string, string>
        {
            ["Relay__SweepInterval"] = "01:00:00",
            ["Relay__MaxWebSocketsPerKey"] = "20000", // the harness opens 10,000 subscribers with one key (default cap 1,000)
        };
        if (Engine == "redis")
        {
            environment["Storage__Engine"] = "redis";
            environment["Storage__Redis"] = Redis.ConnectionString;
            environment["Storage__RedisPrefix"] = $"bench-{name}:";
        }

        return RelayProcess.StartAsync(Path.Combine(Folder, "relay-" + name), RelayProcess.FreePort(), ApiKey, environment);
    }

    public HttpClient CreateHttpClient(RelayProcess relay)
    {
        var http = new HttpClient { BaseAddress = new Uri(relay.BaseUrl + "/"), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return http;
    }

    /// <summary>Pushes <paramref name="body"/> as a raw body (or as-is JSON) and returns the payload id.</summary>
    public static async Task<string> PushAsync(HttpClient relay, byte[] body, string contentType = "text/plain")
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await relay.PostAsync("push", content);
        response.EnsureSuccessStatusCode();
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        return answer.GetProperty("id").GetString()!;
    }

    /// <summary>Pulls a payload, streaming it away; returns how many bytes came.</summary>
    public static async Task<long> PullAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        return total;
    }

    /// <summary><paramref name="size"/> bytes of random letters: text, incompressible enough, no JSON escaping needed.</summary>
    public static byte[] Text(int size) => RandomNumberGenerator.GetItems("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"u8, size);

    public async ValueTask DisposeAsync()
    {
        RelayHttp?.Dispose();
        if (Relay is not null)
        {
            await Relay.DisposeAsync();
        }

        await Redis.DisposeAsync();
        _folder.Dispose();
    }
}
