using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using CtxRelay.Relay;
using CtxRelay.Testing;
using StackExchange.Redis;

// How long does a tiny command wait while a 25 MB payload is saved and read back through Redis?
// One 25 MB SET + GET against the engine's chunked writes/reads, timing PINGs meanwhile from another
// client (what everyone else using this Redis sees) and from the same connection (what the other
// requests of the same relay see: StackExchange.Redis multiplexes one connection).
//   dotnet run -c Release --project benchmarks/RedisChunking [-- --redis host:port] [-- --size 25000000]
var size = int.Parse(Option("--size") ?? "25000000", CultureInfo.InvariantCulture);
const int Runs = 3;
const int Window = 4;

await using var localRedis = Option("--redis") is null ? await RedisServerProcess.StartAsync() : null;
var connectionString = Option("--redis") ?? localRedis!.ConnectionString;
await using var bulk = await ConnectionMultiplexer.ConnectAsync(connectionString);
await using var other = await ConnectionMultiplexer.ConnectAsync(connectionString);
var payload = RandomNumberGenerator.GetBytes(size);
var bulkDb = bulk.GetDatabase();
Task OtherPing() => other.GetDatabase().PingAsync();
Task SamePing() => bulkDb.PingAsync();

Console.WriteLine($"payload {size:N0} bytes, Redis {connectionString}, {Runs} runs each (worst run shown), pipelining window {Window}");
Console.WriteLine();
Console.WriteLine("| scenario | save + read | tiny cmd, other client: max / p99 | tiny cmd, same connection: max / p99 |");
Console.WriteLine("| --- | --- | --- | --- |");

Print("idle (no payload traffic)", await MeasureAsync(() => Task.Delay(1000), OtherPing, SamePing));
Print("raw: one 25 MB SET + one GET", await MeasureAsync(
    async () =>
    {
        await bulkDb.StringSetAsync("bench:whole", payload);
        var back = (byte[]?)await bulkDb.StringGetAsync("bench:whole");
        Check(back);
        await bulkDb.KeyDeleteAsync("bench:whole");
    },
    OtherPing,
    SamePing));

foreach (var chunk in new[] { 64 * 1024, 256 * 1024, 1024 * 1024 })
{
    Print($"raw: {chunk / 1024} KiB chunks, {Window} in flight", await MeasureAsync(() => ChunkedRoundTripAsync(chunk), OtherPing, SamePing));
}

// The engine itself, driven over HTTP (push = spool + hash + chunked save; pull = chunked read).
var dataDirectory = Path.Combine(Path.GetTempPath(), "contextrelay-bench", Guid.NewGuid().ToString("N"));
await using (var relay = await RelayServer.StartAsync(new Dictionary<string, string?>
{
    ["Relay:DataDirectory"] = dataDirectory,
    ["Storage:Engine"] = "redis",
    ["Storage:Redis"] = connectionString,
    ["Storage:RedisPrefix"] = $"bench:{Guid.NewGuid():N}:",
    ["Logging:LogLevel:Default"] = "Warning",
}))
{
    var key = await relay.CreateKeyAsync("bench");
    using var http = new HttpClient { BaseAddress = relay.BaseUrl, Timeout = TimeSpan.FromMinutes(2) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
    var tiny = await PushAsync(http, [1, 2, 3]);
    Task RelayPeek() => http.GetStringAsync($"peek/{tiny}");

    Print("relay idle (tiny = GET /peek over HTTP)", await MeasureAsync(() => Task.Delay(1000), OtherPing, RelayPeek));
    Print("relay engine: POST /push 25 MB + GET /pull", await MeasureAsync(
        async () =>
        {
            var id = await PushAsync(http, payload);
            Check(await http.GetByteArrayAsync($"pull/{id}"));
            (await http.DeleteAsync($"pull/{id}")).EnsureSuccessStatusCode();
        },
        OtherPing,
        RelayPeek));
}

Directory.Delete(dataDirectory, recursive: true);
return;

async Task ChunkedRoundTripAsync(int chunkSize)
{
    var keys = Enumerable.Range(0, (size + chunkSize - 1) / chunkSize).Select(i => (RedisKey)$"bench:chunk:{i}").ToArray();
    var pending = new Queue<Task>();
    for (var i = 0; i < keys.Length; i++)
    {
        var offset = i * chunkSize;
        pending.Enqueue(bulkDb.StringSetAsync(keys[i], payload.AsMemory(offset, Math.Min(chunkSize, size - offset))));
        if (pending.Count == Window)
        {
            await pending.Dequeue();
        }
    }

    await Task.WhenAll(pending);
    var back = new byte[size];
    var position = 0;
    var next = bulkDb.StringGetLeaseAsync(keys[0]);
    for (var i = 0; i < keys.Length; i++)
    {
        using var lease = (await next)!;
        next = i + 1 < keys.Length ? bulkDb.StringGetLeaseAsync(keys[i + 1]) : null!;
        lease.Span.CopyTo(back.AsSpan(position));
        position += lease.Length;
    }

    Check(back);
    await bulkDb.KeyDeleteAsync(keys);
}

// Runs the operation Runs times (after a warm-up) while two probes each send one tiny command after another.
async Task<Result> MeasureAsync(Func<Task> operation, Func<Task> otherProbe, Func<Task> sameProbe)
{
    await operation();
    var worst = default(Result);
    for (var run = 0; run < Runs; run++)
    {
        using var stop = new CancellationTokenSource();
        var probing = new[] { ProbeAsync(otherProbe, stop.Token), ProbeAsync(sameProbe, stop.Token) };
        var clock = Stopwatch.StartNew();
        await operation();
        var elapsed = clock.Elapsed;
        await stop.CancelAsync();
        var samples = await Task.WhenAll(probing);
        var result = new Result(elapsed, Stats(samples[0]), Stats(samples[1]));
        if (worst is null || result.Other.Max + result.Same.Max > worst.Other.Max + worst.Same.Max)
        {
            worst = result;
        }
    }

    return worst!;
}

static async Task<List<double>> ProbeAsync(Func<Task> probe, CancellationToken stop)
{
    var samples = new List<double>();
    while (!stop.IsCancellationRequested)
    {
        var clock = Stopwatch.StartNew();
        await probe();
        samples.Add(clock.Elapsed.TotalMilliseconds);
    }

    return samples;
}

static (double Max, double P99) Stats(List<double> samples)
{
    samples.Sort();
    return samples.Count == 0 ? (0, 0) : (samples[^1], samples[(int)Math.Min(samples.Count - 1, Math.Ceiling(samples.Count * 0.99) - 1)]);
}

static void Print(string scenario, Result result)
    => Console.WriteLine(FormattableString.Invariant(
        $"| {scenario} | {result.Elapsed.TotalMilliseconds:0} ms | {result.Other.Max:0.0} / {result.Other.P99:0.0} ms | {result.Same.Max:0.0} / {result.Same.P99:0.0} ms |"));

void Check(byte[]? back)
{
    if (back is null || !back.AsSpan().SequenceEqual(payload))
    {
        throw new InvalidOperationException("The payload did not come back byte for byte.");
    }
}

static async Task<string> PushAsync(HttpClient http, byte[] bytes)
{
    using var body = new ByteArrayContent(bytes);
    body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
    using var response = await http.PostAsync("push", body);
    response.EnsureSuccessStatusCode();
    using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    return answer.RootElement.GetProperty("id").GetString()!;
}

string? Option(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

internal sealed record Result(TimeSpan Elapsed, (double Max, double P99) Other, (double Max, double P99) Same);
