using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CtxRelay;
using CtxRelay.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// Push+pull latency and relay memory, as ratios against a reference measured in the same run: a bare
// Kestrel app on the same machine that keeps payloads in a dictionary (no auth, no durability, no
// limits) — the floor of "HTTP round trip of N bytes" here. Run in Release:
//   dotnet run -c Release --project benchmarks/Relay.Benchmarks [-- --quick]
var quick = args.Contains("--quick");
var data = Path.Combine(Path.GetTempPath(), "contextrelay-bench", Guid.NewGuid().ToString("N"));
var key = "cr_live_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40);

await using var relay = await RelayProcess.StartAsync(data, RelayProcess.FreePort(), key, new Dictionary<string, string> { ["Relay__SweepInterval"] = "01:00:00" });
await using var reference = await ReferenceServer.StartAsync();
using var client = new ContextRelay(ContextRelayOptions.Default with { BaseUrl = new Uri(relay.BaseUrl), ApiKey = key });
using var http = new HttpClient { BaseAddress = new Uri(reference.BaseUrl) };

var idleRss = Memory.RssBytes(relay.ProcessId);
Console.WriteLine($"relay pid {relay.ProcessId}, idle RSS {Memory.Mb(idleRss)}");
Console.WriteLine();
Console.WriteLine("| size | relay push+pull (median) | reference (median) | ratio |");
Console.WriteLine("| --- | --- | --- | --- |");

foreach (var (label, size, rounds) in new[] { ("1 KB", 1024, quick ? 50 : 300), ("1 MB", 1024 * 1024, quick ? 5 : 30), ("25 MB", 25 * 1024 * 1024, quick ? 2 : 6) })
{
    var text = new string('x', size);
    var relayTimes = new List<double>();
    var referenceTimes = new List<double>();
    for (var i = 0; i < rounds + 2; i++)
    {
        // Alternate so both see the same machine noise; the first two rounds are warm-up.
        var sw = Stopwatch.StartNew();
        var url = await client.PushAsync(text);
        var back = await client.PullAsync(url);
        var relayMs = sw.Elapsed.TotalMilliseconds;
        if (back.Length != size)
        {
            throw new InvalidOperationException("relay round trip lost bytes");
        }

        sw.Restart();
        using (var pushed = await http.PostAsync("echo", new StringContent(text)))
        {
            var id = await pushed.Content.ReadAsStringAsync();
            var echoed = await http.GetStringAsync($"echo/{id}");
            if (echoed.Length != size)
            {
                throw new InvalidOperationException("reference round trip lost bytes");
            }
        }

        var referenceMs = sw.Elapsed.TotalMilliseconds;
        if (i >= 2)
        {
            relayTimes.Add(relayMs);
            referenceTimes.Add(referenceMs);
        }
    }

    var r = Median(relayTimes);
    var f = Median(referenceTimes);
    Console.WriteLine($"| {label} | {r:0.00} ms | {f:0.00} ms | {r / f:0.00}× |");
}

var peak = Memory.PeakRssBytes(relay.ProcessId);
var after = Memory.RssBytes(relay.ProcessId);
Console.WriteLine();
Console.WriteLine($"relay RSS: idle {Memory.Mb(idleRss)}, after the SDK runs {Memory.Mb(after)}, peak {Memory.Mb(peak)}");
Console.WriteLine($"peak growth over idle = {(peak - idleRss) / (25.0 * 1024 * 1024):0.00}× the 25 MB payload (raw-body push, streamed pull)");

// The JSON envelope the Python and JavaScript SDKs send: {"data": "<25 MB>"}.
using (var json = new HttpClient { BaseAddress = new Uri(relay.BaseUrl + "/") })
{
    json.DefaultRequestHeaders.Authorization = new("Bearer", key);
    var envelope = "{\"data\":\"" + new string('j', 25 * 1024 * 1024) + "\"}";
    for (var i = 0; i < (quick ? 2 : 4); i++)
    {
        using var response = await json.PostAsync("push", new StringContent(envelope, System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }
}

var jsonPeak = Memory.PeakRssBytes(relay.ProcessId);
Console.WriteLine($"after 25 MB JSON-envelope pushes: peak {Memory.Mb(jsonPeak)} = {(jsonPeak - idleRss) / (25.0 * 1024 * 1024):0.00}× the payload over idle");
Directory.Delete(data, recursive: true);

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}

internal static class Memory
{
    public static long RssBytes(int pid) => Read(pid, "VmRSS:");

    public static long PeakRssBytes(int pid) => Read(pid, "VmHWM:");

    public static string Mb(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    private static long Read(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}

/// <summary>The reference: the same HTTP stack with payloads in a dictionary.</summary>
internal sealed class ReferenceServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ReferenceServer(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public static async Task<ReferenceServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var store = new ConcurrentDictionary<string, byte[]>();
        app.MapPost("/echo", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var id = Guid.NewGuid().ToString("N");
            store[id] = buffer.ToArray();
            return id;
        });
        app.MapGet("/echo/{id}", (string id) => store.TryRemove(id, out var bytes) ? Results.Bytes(bytes, "text/plain") : Results.NotFound());
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ReferenceServer(app, address + "/");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
