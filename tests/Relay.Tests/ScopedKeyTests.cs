using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Storage;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// Limited keys — push-only, channel patterns, expiry — and revocation reaching keys a relay has cached and
/// WebSockets already open, on each engine (keys are cached for ten minutes in these relays).
/// </summary>
public abstract class ScopedKeyTests(PlanFixture relay)
{
    [Fact]
    public async Task A_push_only_key_pushes_and_publishes_but_every_read_is_403()
    {
        var workspace = NewWorkspace();
        using var writer = relay.CreateHttpClient(await KeyAsync(new KeySpec(workspace, Scope: KeyScope.PushOnly)));
        var id = (await Http.PushJsonAsync(writer, new { data = "write only", channel = "jobs" }))["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Accepted, (await writer.PostAsJsonAsync("publish/jobs", new { data = "hello" })).StatusCode);

        foreach (var read in new Func<Task<HttpResponseMessage>>[]
        {
            () => writer.GetAsync($"pull/{id}"),
            () => writer.GetAsync($"peek/{id}"),
            () => writer.DeleteAsync($"pull/{id}"),
            () => writer.GetAsync("channels/jobs/history"),
            () => writer.GetAsync("channels/jobs/groups"),
        })
        {
            var problem = await Http.ReadProblemAsync(await read(), 403);
            Assert.Contains("push-only", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Forbidden, await RefusedUpgradeAsync(writer, "jobs"));
        using var owner = relay.CreateHttpClient(await KeyAsync(new KeySpec(workspace)));
        Assert.Equal("write only", await owner.GetStringAsync($"pull/{id}")); // nothing was deleted
    }

    [Fact]
    public async Task A_key_limited_to_channel_patterns_gets_403_everywhere_outside_them()
    {
        var workspace = NewWorkspace();
        using var owner = relay.CreateHttpClient(await KeyAsync(new KeySpec(workspace)));
        using var research = relay.CreateHttpClient(await KeyAsync(new KeySpec(workspace, Channels: "research-*, notes")));
        var elsewhere = (await Http.PushJsonAsync(owner, new { data = "ops only", channel = "ops" }))["id"]!.GetValue<string>();
        var loose = (await Http.PushJsonAsync(owner, new { data = "no channel" }))["id"]!.GetValue<string>();

        var mine = (await Http.PushJsonAsync(research, new { data = "findings", channel = "research-42" }))["id"]!.GetValue<string>();
        Assert.Equal("findings", await research.GetStringAsync($"pull/{mine}"));
        Assert.Equal(HttpStatusCode.OK, (await research.GetAsync($"peek/{mine}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await research.PostAsJsonAsync("publish/notes", new { data = "n" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await research.GetAsync("channels/research-42/history")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await research.GetAsync("channels/research-42/groups")).StatusCode);

        var refusals = new Func<Task<HttpResponseMessage>>[]
        {
            () => research.PostAsJsonAsync("push", new { data = "x", channel = "ops" }),
            () => research.PostAsJsonAsync("push", new { data = "x" }),
            () => research.GetAsync($"pull/{elsewhere}"),
            () => research.GetAsync($"pull/{loose}"),
            () => research.GetAsync($"peek/{elsewhere}"),
            () => research.DeleteAsync($"pull/{elsewhere}"),
            () => research.PostAsJsonAsync("publish/ops", new { data = "x" }),
            () => research.GetAsync("channels/ops/history"),
            () => research.GetAsync("channels/ops/groups"),
            () => research.PostAsJsonAsync("push", new { data = "x", channel = "research" }), // the pattern needs the dash
        };
        foreach (var refusal in refusals)
        {
            var problem = await Http.ReadProblemAsync(await refusal(), 403);
            Assert.Contains("research-*,notes", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Forbidden, await RefusedUpgradeAsync(research, "ops"));
        using var allowed = await ConnectAsync(research, "research-7");
        Assert.Equal(WebSocketState.Open, allowed.State);
        Assert.Equal("ops only", await owner.GetStringAsync($"pull/{elsewhere}"));
    }

    [Fact]
    public async Task Revoking_a_cached_key_refuses_it_at_once_and_closes_its_websockets_with_4401()
    {
        var workspace = NewWorkspace();
        var key = await KeyAsync(new KeySpec(workspace));
        using var http = relay.CreateHttpClient(key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("channels/c/history")).StatusCode); // cached from now on
        using var socket = await ConnectAsync(http, "watched");
        using var client = relay.CreateClient(key);
        await using var subscription = await client.OpenSubscriptionAsync("watched");

        var record = (await relay.Store.ListKeysAsync(default)).Single(k => k.Workspace == workspace);
        await relay.Store.RevokeKeyAsync(record.Id, DateTimeOffset.UtcNow, default);

        var closed = await Wait.For(ReceiveCloseAsync(socket), "the socket closed", TimeSpan.FromSeconds(10));
        Assert.Equal(AccessControl.KeyRevokedCloseStatus, (int)closed.Status!);
        Assert.Contains("revoked", closed.Description, StringComparison.Ordinal);
        var ended = await Assert.ThrowsAsync<RelayAuthException>(() => Wait.For(ReadOneAsync(subscription), "the subscription ended", TimeSpan.FromSeconds(10)));
        Assert.Contains("revoked", ended.Message, StringComparison.Ordinal);
        var problem = await Http.ReadProblemAsync(await http.GetAsync("channels/c/history"), 401);
        Assert.Contains("revoked", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expiring_key_works_until_it_expires_then_its_requests_are_401_and_its_websockets_closed()
    {
        var expires = DateTimeOffset.UtcNow.AddSeconds(3);
        using var http = relay.CreateHttpClient(await KeyAsync(new KeySpec(NewWorkspace(), ExpiresAt: expires)));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("channels/c/history")).StatusCode);
        using var socket = await ConnectAsync(http, "until-expiry");

        var closed = await Wait.For(ReceiveCloseAsync(socket), "the socket closed", TimeSpan.FromSeconds(15));
        Assert.True(DateTimeOffset.UtcNow >= expires);
        Assert.Equal(AccessControl.KeyRevokedCloseStatus, (int)closed.Status!);
        Assert.Contains("expired", closed.Description, StringComparison.Ordinal);
        var problem = await Http.ReadProblemAsync(await http.GetAsync("channels/c/history"), 401);
        Assert.Contains("expired", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private Task<string> KeyAsync(KeySpec spec) => KeyAdmin.CreateAsync(relay.Store, spec, default);

    private static string NewWorkspace() => "scoped-" + Guid.NewGuid().ToString("N")[..8];

    private static Uri WsUri(HttpClient http, string channel)
        => new(http.BaseAddress!.AbsoluteUri.Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + "/ws/" + channel);

    private static async Task<ClientWebSocket> ConnectAsync(HttpClient http, string channel)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", http.DefaultRequestHeaders.Authorization!.ToString());
        await socket.ConnectAsync(WsUri(http, channel), CancellationToken.None);
        return socket;
    }

    private static async Task<HttpStatusCode> RefusedUpgradeAsync(HttpClient http, string channel)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", http.DefaultRequestHeaders.Authorization!.ToString());
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(WsUri(http, channel), CancellationToken.None));
        return socket.HttpStatusCode;
    }

    private static async Task<(WebSocketCloseStatus? Status, string? Description)> ReceiveCloseAsync(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (result.CloseStatus, result.CloseStatusDescription);
            }
        }
    }

    private static async Task<RelayEvent> ReadOneAsync(RelaySubscription subscription)
    {
        await foreach (var relayEvent in subscription.ReadAllAsync())
        {
            return relayEvent;
        }

        throw new InvalidOperationException("The subscription ended without an error.");
    }
}

public sealed class SqliteScopedKeyTests(PlanFixture relay) : ScopedKeyTests(relay), IClassFixture<PlanFixture>;

public sealed class RedisScopedKeyTests(RedisPlanFixture relay) : ScopedKeyTests(relay), IClassFixture<RedisPlanFixture>;
