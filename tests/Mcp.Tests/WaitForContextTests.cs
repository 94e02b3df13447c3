using System.Text.Json.Nodes;
using CtxRelay.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace CtxRelay.Mcp.Tests;

/// <summary>wait_for_context: an agent blocks on a hand-off instead of polling.</summary>
public sealed class WaitForContextTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task Receives_a_push_made_by_another_agent()
    {
        var ct = TestText.Timeout();
        await using var waiter = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        await using var sender = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var channel = TestText.Unique("handoff");
        var subscribed = new FirstProgress();

        var waiting = waiter.CallAsync("wait_for_context", new { channel, timeout_seconds = 60 }, ct, subscribed);
        await Wait.For(subscribed.Task, "wait_for_context to subscribe");
        var url = await sender.CallTextAsync("push_context", new { data = "the plan", channel, summary = "plan for step 2" }, ct);
        var result = await Wait.For(waiting, "wait_for_context to return");

        Assert.False(result.IsError is true, result.AllText());
        var received = JsonNode.Parse(result.Text())!;
        Assert.Equal("push", (string?)received["type"]);
        Assert.Equal(url, (string?)received["url"]);
        Assert.Equal(channel, (string?)received["channel"]);
        Assert.Equal("plan for step 2", (string?)received["metadata"]!["summary"]);
        Assert.Equal("the plan", await waiter.CallTextAsync("pull_context", new { url = (string)received["url"]! }, ct));
    }

    [Fact]
    public async Task Receives_a_message_published_with_the_sdk()
    {
        var ct = TestText.Timeout();
        await using var waiter = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        using var sdk = relay.CreateClient();
        var channel = TestText.Unique("messages");
        var subscribed = new FirstProgress();

        var waiting = waiter.CallAsync("wait_for_context", new { channel }, ct, subscribed);
        await Wait.For(subscribed.Task, "wait_for_context to subscribe");
        await sdk.PublishAsync(channel, "step 1 done", new { from = "agent-a" }, ct);
        var result = await Wait.For(waiting, "wait_for_context to return");

        var received = JsonNode.Parse(result.Text())!;
        Assert.Equal("message", (string?)received["type"]);
        Assert.Equal("step 1 done", (string?)received["data"]);
        Assert.Equal("agent-a", (string?)received["metadata"]!["from"]);
    }

    [Fact]
    public async Task After_seq_returns_what_happened_between_two_waits()
    {
        var ct = TestText.Timeout();
        await using var waiter = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        using var sdk = relay.CreateClient();
        var channel = TestText.Unique("resume");
        var subscribed = new FirstProgress();
        var waiting = waiter.CallAsync("wait_for_context", new { channel }, ct, subscribed);
        await Wait.For(subscribed.Task, "wait_for_context to subscribe");
        await sdk.PublishAsync(channel, "first", cancellationToken: ct);
        var first = JsonNode.Parse((await Wait.For(waiting, "the first event")).Text())!;

        // Not waiting now: this one happens between the two calls.
        var second = await sdk.PushAsync("second payload", channel, cancellationToken: ct);
        var result = await waiter.CallAsync("wait_for_context", new { channel, timeout_seconds = 30, after_seq = (long)first["seq"]! }, ct);

        var received = JsonNode.Parse(result.Text())!;
        Assert.Equal("push", (string?)received["type"]);
        Assert.Equal(second, (string?)received["url"]);
        Assert.Equal((long)first["seq"]! + 1, (long)received["seq"]!);
    }

    [Fact]
    public async Task Says_so_without_an_error_when_nothing_arrives_in_time()
    {
        var ct = TestText.Timeout();
        await using var waiter = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var channel = TestText.Unique("quiet");

        var result = await waiter.CallAsync("wait_for_context", new { channel, timeout_seconds = 1 }, ct);

        Assert.False(result.IsError is true, result.AllText());
        Assert.Contains($"Nothing was pushed or published on channel '{channel}' within 1 s", result.Text());
        Assert.Contains("Call wait_for_context again", result.Text());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3601)]
    public async Task Refuses_a_timeout_out_of_range(int seconds)
    {
        var ct = TestText.Timeout();
        await using var waiter = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        var error = await waiter.CallErrorAsync("wait_for_context", new { channel = "c", timeout_seconds = seconds }, ct);

        Assert.Contains("timeout_seconds must be between 1 and 3600", error);
    }

    /// <summary>Completes on the first progress notification: the server sends one once it is subscribed.</summary>
    private sealed class FirstProgress : IProgress<ProgressNotificationValue>
    {
        private readonly TaskCompletionSource<ProgressNotificationValue> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ProgressNotificationValue> Task => _first.Task;

        public void Report(ProgressNotificationValue value) => _first.TrySetResult(value);
    }
}
