using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CtxRelay.Testing;
using Xunit.Abstractions;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// Several relays on one Redis, as deployed behind a load balancer: two built relay processes
/// (<c>Storage__Engine=redis</c>) sharing one real redis-server (append-only file, so its data survives
/// a restart), the SDK as the client, and a TCP <see cref="LoadBalancer"/> in front when a client has to
/// fail over. Every test starts its own Redis and relays.
/// </summary>
public sealed class ScaleOutTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private readonly TemporaryDirectory _root = new("scale");
    private readonly string _key = "cr_live_" + RandomNumberGenerator.GetString(Alphabet, 40);
    private readonly List<RelayProcess> _relays = [];
    private RedisServerProcess? _redis;

    private RedisServerProcess Redis => _redis ?? throw new InvalidOperationException("redis-server has not started.");

    public async Task InitializeAsync() => _redis = await RedisServerProcess.StartAsync(Path.Combine(_root.Path, "redis"));

    public async Task DisposeAsync()
    {
        foreach (var relay in _relays)
        {
            await relay.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task A_push_on_relay_A_reaches_a_subscriber_on_relay_B_and_pulls_back_byte_for_byte_from_either()
    {
        var (a, b) = await StartTwoRelaysAsync();
        var channel = NewChannel();
        using var clientA = Client(a.BaseUrl);
        using var clientB = Client(b.BaseUrl);
        await using var onB = await clientB.OpenSubscriptionAsync(channel);
        await using var onA = await clientA.OpenSubscriptionAsync(channel);

        var body = RandomNumberGenerator.GetBytes((3 * 256 * 1024) + 4_321); // several Redis chunks
        using var httpA = HttpOn(a.BaseUrl);
        using var pushed = await Http.PushRawAsync(httpA, body, "?channel=" + channel, metadata: """{"task":"scale"}""", contentType: "application/octet-stream");
        Assert.Equal(System.Net.HttpStatusCode.OK, pushed.StatusCode);
        var id = (await pushed.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        var atB = await Wait.For(onB.WaitForAsync(_ => true), "the push at the subscriber on relay B");
        var atA = await Wait.For(onA.WaitForAsync(_ => true), "the push at the subscriber on relay A");
        Assert.Equal((RelayEventType.Push, id, 1L), (atB.Type, atB.Id, atB.Seq));
        Assert.Equal("scale", atB.Metadata["task"]?.GetValue<string>());
        Assert.Equal((atA.Seq, atA.Id, atA.Timestamp), (atB.Seq, atB.Id, atB.Timestamp));

        using var httpB = HttpOn(b.BaseUrl);
        Assert.Equal(body, await httpA.GetByteArrayAsync("pull/" + id));
        Assert.Equal(body, await httpB.GetByteArrayAsync("pull/" + id));
        using var viaSdk = new MemoryStream();
        await clientB.PullToStreamAsync(atB.Url ?? id, viaSdk);
        Assert.Equal(body, viaSdk.ToArray());

        // And the other way round: a message published on B is seq 2 for the subscriber on A.
        Assert.Equal(2, await clientB.PublishAsync(channel, "from B"));
        var message = await Wait.For(onA.WaitForAsync(_ => true), "the message at the subscriber on relay A");
        Assert.Equal((RelayEventType.Message, "from B", 2L), (message.Type, message.Data, message.Seq));
    }

    [Fact]
    public async Task A_subscriber_whose_relay_is_killed_fails_over_through_the_balancer_and_gets_every_event_once_in_order()
    {
        const int total = 300;
        const int killAfter = 100;
        var (a, b) = await StartTwoRelaysAsync();
        await using var balancer = LoadBalancer.Start(a.BaseUrl, b.BaseUrl);
        var channel = NewChannel();
        using var subscriberClient = Client(balancer.BaseUrl);
        using var producer = Client(b.BaseUrl);
        await using var subscription = await subscriberClient.OpenSubscriptionAsync(channel);
        Assert.Equal((1, 0), (balancer.RoutedTo(0), balancer.RoutedTo(1))); // the subscriber is on relay A

        var clock = Stopwatch.StartNew();
        var arrivals = new List<(long Seq, string? Data, TimeSpan At, int Connection)>();
        var reconnectedAt = TimeSpan.Zero;
        subscription.Reconnected += _ => reconnectedAt = clock.Elapsed;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var consumer = Task.Run(async () =>
        {
            await foreach (var e in subscription.ReadAllAsync(stop.Token))
            {
                lock (arrivals)
                {
                    arrivals.Add((e.Seq, e.Data, clock.Elapsed, subscription.Connections));
                    if (arrivals.Count == total)
                    {
                        return;
                    }
                }
            }
        });

        var killedAt = TimeSpan.Zero;
        var killing = Task.CompletedTask;
        var published = new TimeSpan[total + 1];
        for (var i = 1; i <= total; i++)
        {
            Assert.Equal(i, await producer.PublishAsync(channel, $"e{i}"));
            published[i] = clock.Elapsed;
            if (i == killAfter)
            {
                await Wait.Until(() => Task.FromResult(Count(arrivals) >= killAfter / 2), "events to flow to the subscriber on relay A");
                killedAt = clock.Elapsed;
                killing = a.KillAsync(); // the producer goes on meanwhile
            }

            await Task.Delay(5); // pacing: a steady producer
        }

        await killing;
        await consumer.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), arrivals.Select(e => e.Seq));
        Assert.Equal(Enumerable.Range(1, total).Select(i => $"e{i}"), arrivals.Select(e => e.Data));
        Assert.True(subscription.Connections >= 2, "the subscription should have reconnected");
        Assert.True(balancer.RoutedTo(1) >= 1, "the balancer should have sent the reconnect to relay B");

        // Without events: from the kill to the first event that came over the new connection.
        var lastOld = arrivals.Last(e => e.Connection == 1);
        var firstNew = arrivals.First(e => e.Connection >= 2);
        var worstDelay = arrivals.Max(e => e.At - published[e.Seq]);
        output.WriteLine(
            $"kill at seq {killAfter}; last event over relay A: seq {lastOld.Seq}; reconnected {(reconnectedAt - killedAt).TotalMilliseconds:0} ms after the kill; "
            + $"first event over relay B: seq {firstNew.Seq}, {(firstNew.At - killedAt).TotalMilliseconds:0} ms after the kill; worst publish-to-arrival delay: {worstDelay.TotalMilliseconds:0} ms; connections: {subscription.Connections}");
        Assert.InRange(firstNew.At - killedAt, TimeSpan.Zero, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task On_sigterm_a_relay_finishes_in_flight_pushes_tells_subscribers_to_reconnect_elsewhere_and_exits_promptly()
    {
        const int total = 60;
        var (a, b) = await StartTwoRelaysAsync();
        await using var balancer = LoadBalancer.Start(a.BaseUrl, b.BaseUrl);
        var channel = NewChannel();
        using var subscriberClient = Client(balancer.BaseUrl);
        using var producer = Client(b.BaseUrl);
        await using var subscription = await subscriberClient.OpenSubscriptionAsync(channel);
        Assert.Equal((1, 0), (balancer.RoutedTo(0), balancer.RoutedTo(1))); // the subscriber is on relay A
        using var watcher = new ClientWebSocket();
        watcher.Options.SetRequestHeader("Authorization", "Bearer " + _key);
        await watcher.ConnectAsync(new Uri(a.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws/" + channel), CancellationToken.None);
        var watcherClosed = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var result = await watcher.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (result.CloseStatus, result.CloseStatusDescription);
                }
            }
        });

        var arrivals = new List<long>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var consumer = Task.Run(async () =>
        {
            await foreach (var e in subscription.ReadAllAsync(stop.Token))
            {
                lock (arrivals)
                {
                    arrivals.Add(e.Seq);
                    if (arrivals.Count == total)
                    {
                        return;
                    }
                }
            }
        });

        // A slow upload to relay A is under way when it is told to stop.
        var body = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        using var slowHttp = HttpOn(a.BaseUrl);
        using var slowContent = new StreamContent(new SlowStream(body, TimeSpan.FromSeconds(2)));
        slowContent.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        var slowPush = slowHttp.PostAsync("push", slowContent);

        Task<int>? terminating = null;
        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= total; i++)
        {
            await producer.PublishAsync(channel, $"e{i}");
            if (i == total / 2)
            {
                await Wait.Until(() => Task.FromResult(Count(arrivals) >= 10), "events to reach the subscriber on relay A");
                clock.Restart();
                terminating = a.TerminateAsync(TimeSpan.FromSeconds(30));
            }

            await Task.Delay(10);
        }

        var exitCode = await terminating!;
        var stoppedIn = clock.Elapsed;
        using var pushed = await slowPush;
        Assert.Equal(System.Net.HttpStatusCode.OK, pushed.StatusCode); // the in-flight push finished
        var id = (await pushed.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        using var fromB = HttpOn(b.BaseUrl);
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(await fromB.GetByteArrayAsync("pull/" + id)));

        var (status, reason) = await watcherClosed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1012, (int)status!);
        Assert.Contains("reconnect", reason, StringComparison.Ordinal);

        await consumer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), arrivals); // nothing lost, nothing twice
        Assert.True(subscription.Connections >= 2, "the subscription should have moved to relay B");
        Assert.Equal(0, exitCode);
        output.WriteLine($"SIGTERM to exit: {stoppedIn.TotalMilliseconds:0} ms (exit code {exitCode})");
        Assert.InRange(stoppedIn, TimeSpan.Zero, TimeSpan.FromSeconds(20));
    }

    /// <summary>A request body that trickles in over a given time.</summary>
    private sealed class SlowStream(byte[] data, TimeSpan over) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => data.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= data.Length)
            {
                return 0;
            }

            await Task.Delay(over / 20, cancellationToken);
            var count = Math.Min(Math.Min(buffer.Length, data.Length / 20 + 1), data.Length - _position);
            data.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task While_redis_is_down_calls_fail_fast_with_503_and_recover_by_themselves_with_the_data_intact()
    {
        var relay = await StartRelayAsync();
        var channel = NewChannel();
        using var http = HttpOn(relay.BaseUrl);
        using var stranger = HttpOn(relay.BaseUrl, "cr_live_" + RandomNumberGenerator.GetString(Alphabet, 40)); // not cached by the relay
        using var client = Client(relay.BaseUrl);
        var body = RandomNumberGenerator.GetBytes(600_000);
        using var pushed = await Http.PushRawAsync(http, body, "?channel=" + channel, contentType: "application/octet-stream");
        Assert.Equal(System.Net.HttpStatusCode.OK, pushed.StatusCode);
        var id = (await pushed.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        await Redis.StopAsync();

        var latencies = new List<TimeSpan>();
        var outage = Stopwatch.StartNew();
        while (outage.Elapsed < TimeSpan.FromSeconds(4))
        {
            foreach (var call in new Func<Task<HttpResponseMessage>>[]
            {
                () => http.GetAsync("pull/" + id),
                () => http.PostAsJsonAsync("publish/" + channel, new { data = "during the outage" }),
                () => stranger.GetAsync("peek/" + id),
            })
            {
                var timer = Stopwatch.StartNew();
                using var response = await call();
                var problem = await Http.ReadProblemAsync(response, 503);
                latencies.Add(timer.Elapsed);
                Assert.Equal("Storage unavailable", problem["title"]?.GetValue<string>());
                Assert.Contains("storage", problem["detail"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
                Assert.NotNull(response.Headers.RetryAfter);
            }

            var sdkTimer = Stopwatch.StartNew();
            var failure = await Assert.ThrowsAsync<RelayUnavailableException>(() => client.PublishAsync(channel, "during the outage"));
            latencies.Add(sdkTimer.Elapsed);
            Assert.Contains("storage", failure.Message, StringComparison.OrdinalIgnoreCase);
            await Task.Delay(200); // pacing
        }

        output.WriteLine($"during the outage: {latencies.Count} calls, all 503; latency median {Percentile(latencies, 0.5).TotalMilliseconds:0} ms, max {latencies.Max().TotalMilliseconds:0} ms (client timeout {http.Timeout.TotalSeconds:0} s)");
        Assert.InRange(latencies.Max(), TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode); // alive: a restart would not help
        await Http.ReadProblemAsync(await http.GetAsync("readyz"), 503); // not ready: send traffic elsewhere

        await Redis.StartAsync();
        await Wait.Until(async () => (await http.GetAsync("readyz")).IsSuccessStatusCode, "readyz to say ready again");

        var back = Stopwatch.StartNew();
        await Wait.Until(
            async () =>
            {
                using var response = await http.GetAsync("peek/" + id);
                return response.IsSuccessStatusCode;
            },
            "the relay to serve again once Redis is back");
        output.WriteLine($"serving again {back.ElapsedMilliseconds} ms after redis-server answered PING");
        Assert.Equal(body, await http.GetByteArrayAsync("pull/" + id));
        Assert.Equal(2, await client.PublishAsync(channel, "after the outage")); // nothing of the failed calls was kept
        using var unknown = await stranger.GetAsync("peek/" + id);
        await Http.ReadProblemAsync(unknown, 401);
    }

    [Fact]
    public async Task Group_members_on_two_relays_are_listed_by_either_and_those_of_a_killed_relay_drop_out_by_themselves()
    {
        var (a, b) = await StartTwoRelaysAsync();
        var channel = NewChannel();
        var options = new SubscriptionOptions { Group = "pool" };
        using var clientA = Client(a.BaseUrl);
        using var clientB = Client(b.BaseUrl);
        var onA = await clientA.OpenSubscriptionAsync(channel, options);
        await using var onB = await clientB.OpenSubscriptionAsync(channel, options);
        await Wait.Until(async () => (await clientB.GetGroupsAsync(channel)).SingleOrDefault()?.Members.Count == 2, "relay B to list both members");
        await Wait.Until(async () => (await clientA.GetGroupsAsync(channel)).SingleOrDefault()?.Members.Count == 2, "relay A to list both members");

        // Killed: relay A never says its member left; the member drops out once A stops refreshing it (30 s).
        await a.KillAsync();
        await onA.DisposeAsync();
        var clock = Stopwatch.StartNew();
        await Wait.Until(async () => (await clientB.GetGroupsAsync(channel)).Single().Members.Count == 1, "the dead relay's member to drop out", TimeSpan.FromSeconds(60));
        output.WriteLine($"the dead relay's member dropped out after {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(35));
    }

    [Fact]
    public async Task A_group_of_three_workers_on_two_relays_does_a_thousand_tasks_when_one_relay_is_killed_midway()
    {
        const int tasks = 1000;
        var (a, b) = await StartTwoRelaysAsync();
        await using var balancer = LoadBalancer.Start(a.BaseUrl, b.BaseUrl);
        var channel = NewChannel();
        var options = new SubscriptionOptions { Group = "pool", AckTimeout = TimeSpan.FromSeconds(2), Prefetch = 4 };
        using var clientA = Client(a.BaseUrl);
        using var clientLb = Client(balancer.BaseUrl);
        using var clientB = Client(b.BaseUrl);
        await using var victim = await clientA.OpenSubscriptionAsync(channel, options); // dies with relay A
        await using var roamer = await clientLb.OpenSubscriptionAsync(channel, options); // relay A, then B through the balancer
        await using var steady = await clientB.OpenSubscriptionAsync(channel, options);
        Assert.Equal(1, balancer.RoutedTo(0));

        var done = new ConcurrentDictionary<long, int>();
        var redelivered = new ConcurrentDictionary<long, bool>();
        var handled = new int[3];
        var victimHandled = 0;
        var victimDown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var workers = new[] { Work(victim, 0), Work(roamer, 1), Work(steady, 2) };

        using var producer = Client(b.BaseUrl);
        var publishing = Task.Run(async () =>
        {
            for (var i = 1; i <= tasks; i++)
            {
                await producer.PublishAsync(channel, $"task {i}");
            }
        });

        // The victim stops mid-task without acking what it holds, and its relay dies with it.
        await Wait.For(victimDown.Task.ContinueWith(_ => true, TaskScheduler.Default), "worker 0 to reach its 100th task", TimeSpan.FromSeconds(30));
        var doneAtKill = done.Count;
        await a.KillAsync();
        await victim.DisposeAsync();

        await publishing.WaitAsync(TimeSpan.FromSeconds(30));
        await Wait.Until(() => Task.FromResult(done.Count == tasks), $"all {tasks} tasks to be done", TimeSpan.FromSeconds(40));
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        output.WriteLine($"done at the kill: {doneAtKill}; handled per worker: {string.Join(", ", handled)}; tasks run twice: {done.Count(p => p.Value > 1)}; redelivered: {redelivered.Count}; roamer connections: {roamer.Connections}");
        Assert.Equal(Enumerable.Range(1, tasks).Select(i => (long)i), done.Keys.Order());
        Assert.All(done.Where(pair => pair.Value > 1), pair => Assert.True(redelivered.ContainsKey(pair.Key), $"task {pair.Key} ran twice without a redelivery"));
        Assert.NotEmpty(redelivered); // what the victim held went to the others
        Assert.True(roamer.Connections >= 2 && balancer.RoutedTo(1) >= 1, "the roaming worker should have moved to relay B");
        Assert.True(handled[1] > 0 && handled[2] > 0, "both surviving workers should have worked");

        async Task Work(RelaySubscription member, int index)
        {
            try
            {
                await foreach (var e in member.ReadAllAsync(stop.Token))
                {
                    if (index == 0 && Interlocked.Increment(ref victimHandled) == 100)
                    {
                        victimDown.TrySetResult();
                        return;
                    }

                    Interlocked.Increment(ref handled[index]);
                    if (e.Deliveries > 1)
                    {
                        redelivered[e.Seq] = true;
                    }

                    done.AddOrUpdate(e.Seq, 1, (_, n) => n + 1);
                    try
                    {
                        await member.AckAsync(e);
                    }
                    catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
                    {
                        // The connection dropped under the ack: the task comes back as a redelivery.
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static string NewChannel() => "so-" + Guid.NewGuid().ToString("N")[..10];

    private static int Count<T>(List<T> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private static TimeSpan Percentile(List<TimeSpan> values, double fraction)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(fraction * sorted.Count))];
    }

    /// <summary>Two relays, one after the other: the first creates the dev workspace with the shared key.</summary>
    private async Task<(RelayProcess A, RelayProcess B)> StartTwoRelaysAsync()
    {
        var a = await StartRelayAsync();
        var b = await StartRelayAsync();
        return (a, b);
    }

    private async Task<RelayProcess> StartRelayAsync()
    {
        var relay = await RelayProcess.StartAsync(
            Path.Combine(_root.Path, "relay-" + _relays.Count),
            RelayProcess.FreePort(),
            _key,
            new Dictionary<string, string>
            {
                ["Storage__Engine"] = "redis",
                ["Storage__Redis"] = Redis.ConnectionString,
            });
        _relays.Add(relay);
        return relay;
    }

    private ContextRelay Client(string baseUrl) => new(ContextRelayOptions.Default with
    {
        BaseUrl = new Uri(baseUrl),
        ApiKey = _key,
        ReconnectDelay = TimeSpan.FromMilliseconds(200),
        RequestTimeout = TimeSpan.FromSeconds(30),
    });

    private HttpClient HttpOn(string baseUrl, string? key = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(baseUrl + "/"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key ?? _key);
        return http;
    }
}
