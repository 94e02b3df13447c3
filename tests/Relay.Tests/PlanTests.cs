using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CtxRelay.Relay.Features;
using CtxRelay.Relay.Storage;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// The relays these tests use: plans with small quotas, keys cached for ten minutes (so only the access
/// revision can make a change reach them quickly), and — on Redis — a second relay on the same store.
/// </summary>
public class PlanFixture : RelayFixture
{
    private RelayServer? _second;

    internal static IDictionary<string, string?> WithPlans(IDictionary<string, string?> settings)
    {
        settings["Relay:Plans:q5:MonthlyPushes"] = "5";
        settings["Relay:Plans:q5:MonthlyPulls"] = "3";
        settings["Relay:Plans:burst:MonthlyPushes"] = "5000";
        settings["Relay:Plans:rpm3:RequestsPerMinute"] = "3";
        settings["Relay:KeyCacheDuration"] = "00:10:00";
        settings["Relay:AccessCheckInterval"] = "00:00:00.200";
        return settings;
    }

    protected override IDictionary<string, string?> Settings => WithPlans(new Dictionary<string, string?>());

    /// <summary>Another relay sharing this one's store, or null when the engine serves one relay only.</summary>
    public RelayServer? Second => _second;

    internal IRelayStore Store => Server.Services.GetRequiredService<IRelayStore>();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (SharedStoreSettings() is { } shared)
        {
            _second = await RelayServer.StartAsync(shared);
        }
    }

    /// <summary>Settings of a second relay on the same store (Redis engines only).</summary>
    protected virtual IDictionary<string, string?>? SharedStoreSettings() => null;

    public override async Task DisposeAsync()
    {
        if (_second is not null)
        {
            await _second.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    /// <summary>Clients of every relay of the fixture, round-robin.</summary>
    public HttpClient[] Clients(string key)
        => [.. new[] { Server, Second }.OfType<RelayServer>().Select(server =>
        {
            var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl.AbsoluteUri) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", key);
            return http;
        })];
}

public sealed class RedisPlanFixture : PlanFixture
{
    private RedisServerProcess? _redis;
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..8] + ":";

    protected override IDictionary<string, string?> Settings => WithPlans(new Dictionary<string, string?>
    {
        ["Storage:Engine"] = "redis",
        ["Storage:Redis"] = _redis!.ConnectionString,
        ["Storage:RedisPrefix"] = _prefix,
    });

    protected override IDictionary<string, string?>? SharedStoreSettings()
    {
        var settings = Settings;
        settings["Relay:DataDirectory"] = DataDirectory;
        settings["Logging:LogLevel:Default"] = "Warning";
        return settings;
    }

    public override async Task InitializeAsync()
    {
        _redis = await RedisServerProcess.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>Monthly quotas, per-minute rates, the RateLimit headers, 429s and GET /usage, on each engine.</summary>
public abstract class PlanTests(PlanFixture relay)
{
    [Fact]
    public async Task A_monthly_push_quota_lets_exactly_the_plan_s_pushes_through_and_then_answers_429_until_the_month_ends()
    {
        var (workspace, http) = await NewWorkspaceAsync("q5");

        using (var bad = await http.PostAsync("push", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json")))
        {
            await Http.ReadProblemAsync(bad, 400); // a failed push gives its count back
        }

        for (var i = 1; i <= 5; i++)
        {
            using var pushed = i == 5
                ? await http.PostAsJsonAsync("publish/ch-1", new { data = "a publish counts as a push" })
                : await http.PostAsJsonAsync("push", new { data = $"push {i}" });
            Assert.True(pushed.IsSuccessStatusCode, $"push {i}: {(int)pushed.StatusCode}");
            Assert.Contains("\"monthly-pushes\";q=5;w=", Header(pushed, "RateLimit-Policy"), StringComparison.Ordinal);
            Assert.StartsWith($"\"monthly-pushes\";r={5 - i};t=", Header(pushed, "RateLimit"), StringComparison.Ordinal);
        }

        using var refused = await http.PostAsJsonAsync("push", new { data = "one too many" });
        var problem = await Http.ReadProblemAsync(refused, 429);
        var (_, monthEnd) = Metering.MonthBounds(DateTimeOffset.UtcNow);
        Assert.Equal("q5", problem["plan"]!.GetValue<string>());
        Assert.Equal("pushes", problem["meter"]!.GetValue<string>());
        Assert.Equal(5, problem["limit"]!.GetValue<long>());
        Assert.Equal(5, problem["used"]!.GetValue<long>());
        Assert.Equal(monthEnd, DateTimeOffset.Parse(problem["resets_at"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        Assert.Contains("q5", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, (monthEnd - DateTimeOffset.UtcNow).TotalSeconds - 10, (monthEnd - DateTimeOffset.UtcNow).TotalSeconds + 10);
        Assert.StartsWith("\"monthly-pushes\";r=0;", Header(refused, "RateLimit"), StringComparison.Ordinal);

        var usage = await http.GetFromJsonAsync<JsonObject>("usage");
        Assert.Equal(workspace, usage!["workspace"]!.GetValue<string>());
        Assert.Equal(5, usage["pushes"]!["used"]!.GetValue<long>());
        Assert.Equal(5, usage["pushes"]!["limit"]!.GetValue<long>());
    }

    [Fact]
    public async Task Bridge_announcements_do_not_use_up_monthly_pushes_and_the_announcement_channel_takes_nothing_else()
    {
        var (_, http) = await NewWorkspaceAsync("q5");
        for (var i = 1; i <= 5; i++)
        {
            using var pushed = await http.PostAsJsonAsync("push", new { data = $"push {i}" });
            Assert.True(pushed.IsSuccessStatusCode);
        }

        // The month's pushes are used up; a bridge's status and heartbeats still get through, uncounted.
        for (var i = 0; i < 3; i++)
        {
            using var announced = await http.PostAsJsonAsync("publish/contextrelay.bridges", new
            {
                data = "bridge box/agents:0.0: started",
                metadata = new { kind = "contextrelay.bridge", bridge = "box/agents:0.0", status = "started", heartbeat = i > 0 },
            });
            Assert.Equal(HttpStatusCode.Accepted, announced.StatusCode);
        }

        using (var other = await http.PostAsJsonAsync("publish/contextrelay.bridges", new { data = "free messages?", metadata = new { kind = "chat" } }))
        {
            Assert.Contains("bridge announcements only", (await Http.ReadProblemAsync(other, 400))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        using (var large = await http.PostAsJsonAsync("publish/contextrelay.bridges", new { data = new string('x', 5000), metadata = new { kind = "contextrelay.bridge" } }))
        {
            await Http.ReadProblemAsync(large, 400);
        }

        using (var elsewhere = await http.PostAsJsonAsync("publish/ch-1", new { data = "a message elsewhere still counts", metadata = new { kind = "contextrelay.bridge" } }))
        {
            await Http.ReadProblemAsync(elsewhere, 429);
        }

        var usage = await http.GetFromJsonAsync<JsonObject>("usage");
        Assert.Equal(5, usage!["pushes"]!["used"]!.GetValue<long>());
        var history = await http.GetFromJsonAsync<JsonObject>("channels/contextrelay.bridges/history");
        Assert.Equal(3, history!["events"]!.AsArray().Count);
    }

    [Fact]
    public async Task Pulls_count_only_when_a_payload_is_served_and_the_sdk_raises_a_quota_exception_naming_the_plan()
    {
        var (_, http) = await NewWorkspaceAsync("q5");
        var id = (await Http.PushJsonAsync(http, new { data = "pulled three times" }))["id"]!.GetValue<string>();

        using (var missing = await http.GetAsync($"pull/{Guid.NewGuid()}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var head = new HttpRequestMessage(HttpMethod.Head, $"pull/{id}"))
        using (var headed = await http.SendAsync(head))
        {
            Assert.Equal(HttpStatusCode.OK, headed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"peek/{id}")).StatusCode);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("pulled three times", await http.GetStringAsync($"pull/{id}"));
        }

        using var client = relay.CreateClient(http.DefaultRequestHeaders.Authorization!.Parameter);
        var quota = await Assert.ThrowsAsync<RelayQuotaException>(() => client.PullAsync(id));
        Assert.Equal("q5", quota.Plan);
        Assert.Equal("pulls", quota.Meter);
        Assert.Equal(3, quota.Limit);
        Assert.Equal(3, quota.Used);
        Assert.Equal(Metering.MonthBounds(DateTimeOffset.UtcNow).End, quota.ResetsAt);
        Assert.True(quota.RetryAfter > TimeSpan.Zero);

        var usage = await http.GetFromJsonAsync<JsonObject>("usage");
        Assert.Equal(3, usage!["pulls"]!["used"]!.GetValue<long>());
        Assert.Equal(1, usage["pushes"]!["used"]!.GetValue<long>());
    }

    [Fact]
    public async Task An_unlimited_workspace_is_counted_without_limits_or_rate_limit_headers()
    {
        var (_, http) = await NewWorkspaceAsync(plan: null);
        using var pushed = await http.PostAsJsonAsync("push", new { data = "free to push" });
        Assert.Equal(HttpStatusCode.OK, pushed.StatusCode);
        Assert.False(pushed.Headers.Contains("RateLimit"));

        var usage = await http.GetFromJsonAsync<JsonObject>("usage");
        Assert.Equal("unlimited", usage!["plan"]!.GetValue<string>());
        Assert.Equal(1, usage["pushes"]!["used"]!.GetValue<long>());
        Assert.Null(usage["pushes"]!["limit"]);
        Assert.Equal(Metering.Month(DateTimeOffset.UtcNow), usage["period"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sixteen_clients_pushing_8000_times_against_a_quota_of_5000_get_exactly_5000_through()
    {
        var (workspace, _) = await NewWorkspaceAsync("burst");
        var key = await relay.CreateKeyAsync(workspace);
        var clients = relay.Clients(key);
        var ok = 0;
        var refused = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
        {
            var http = clients[c % clients.Length]; // on Redis, half the clients use each relay
            for (var i = 0; i < 500; i++)
            {
                using var response = await http.PostAsJsonAsync("push", new { data = "x" });
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref ok);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
                    Interlocked.Increment(ref refused);
                }
            }
        })));

        Assert.Equal(5000, ok);
        Assert.Equal(3000, refused);
        var usage = await clients[^1].GetFromJsonAsync<JsonObject>("usage");
        Assert.Equal(5000, usage!["pushes"]!["used"]!.GetValue<long>());
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task A_per_minute_rate_is_counted_together_by_every_relay()
    {
        var (workspace, _) = await NewWorkspaceAsync("rpm3");
        var clients = relay.Clients(await relay.CreateKeyAsync(workspace));
        await Wait.ForRoomInThisMinute(TimeSpan.FromSeconds(5)); // keep all four in one minute

        for (var i = 0; i < 3; i++)
        {
            using var allowed = await clients[i % clients.Length].GetAsync("channels/c/history");
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
            Assert.StartsWith($"\"per-minute\";r={2 - i};", Header(allowed, "RateLimit"), StringComparison.Ordinal);
        }

        using var limited = await clients[^1].GetAsync("channels/c/history");
        var problem = await Http.ReadProblemAsync(limited, 429);
        Assert.Equal("requests", problem["meter"]!.GetValue<string>());
        Assert.InRange(limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
    }

    [Fact]
    public async Task A_plan_change_reaches_a_relay_that_cached_the_key_within_seconds()
    {
        var (workspace, http) = await NewWorkspaceAsync(plan: null);
        using (var first = await http.PostAsJsonAsync("push", new { data = "unlimited so far" }))
        {
            Assert.False(first.Headers.Contains("RateLimit-Policy")); // the key is now cached for ten minutes
        }

        await relay.Store.SetWorkspacePlanAsync(workspace, "q5", default);
        await Wait.Until(
            async () =>
            {
                using var response = await http.PostAsJsonAsync("push", new { data = "and now?" });
                return response.Headers.TryGetValues("RateLimit-Policy", out var values) && values.Single().Contains("\"monthly-pushes\";q=5", StringComparison.Ordinal);
            },
            "the new plan applied",
            TimeSpan.FromSeconds(10));
    }

    private async Task<(string Workspace, HttpClient Http)> NewWorkspaceAsync(string? plan)
    {
        var workspace = "plan-" + Guid.NewGuid().ToString("N")[..8];
        if (plan is not null)
        {
            await relay.Store.SetWorkspacePlanAsync(workspace, plan, default);
        }

        return (workspace, relay.CreateHttpClient(await relay.CreateKeyAsync(workspace)));
    }

    private static string Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : string.Empty;
}

public sealed class SqlitePlanTests(PlanFixture relay) : PlanTests(relay), IClassFixture<PlanFixture>
{
    [Fact]
    public async Task Counts_survive_a_restart_of_the_relay()
    {
        using var data = new TemporaryDirectory("restart");
        var settings = PlanFixture.WithPlans(new Dictionary<string, string?> { ["Relay:DataDirectory"] = data.Path, ["Logging:LogLevel:Default"] = "Warning" });
        string key;
        await using (var first = await RelayServer.StartAsync(settings))
        {
            key = await first.CreateKeyAsync("restart", plan: "q5");
            using var http = new HttpClient { BaseAddress = first.BaseUrl };
            http.DefaultRequestHeaders.Authorization = new("Bearer", key);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("push", new { data = "before the restart" })).StatusCode);
            }
        }

        await using var second = await RelayServer.StartAsync(settings);
        using var again = new HttpClient { BaseAddress = second.BaseUrl };
        again.DefaultRequestHeaders.Authorization = new("Bearer", key);
        await Http.ReadProblemAsync(await again.PostAsJsonAsync("push", new { data = "after the restart" }), 429);
    }
}

public sealed class RedisPlanTests(RedisPlanFixture relay) : PlanTests(relay), IClassFixture<RedisPlanFixture>;
