using CtxRelay.Testing;

namespace CtxRelay.Mcp.Tests;

/// <summary>A relay that refuses payloads over 64 KiB, so the oversize case is cheap to provoke.</summary>
public sealed class SmallPayloadRelayFixture : RelayFixture
{
    public const int MaxPayloadBytes = 64 * 1024;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Relay:MaxPayloadBytes"] = MaxPayloadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Relay:Plans:one:MonthlyPushes"] = "1",
    };
}

/// <summary>Every failure is a tool error (isError) whose text tells the model what to do; the server keeps running.</summary>
public sealed class ErrorTests(SmallPayloadRelayFixture relay) : IClassFixture<SmallPayloadRelayFixture>
{
    [Fact]
    public async Task Without_an_api_key_the_server_starts_and_each_call_says_to_set_one()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, apiKey: null, ct);

        Assert.Equal(4, (await server.Client.ListToolsAsync(cancellationToken: ct)).Count);
        var error = await server.CallErrorAsync("push_context", new { data = "x" }, ct);

        Assert.Contains("CONTEXTRELAY_API_KEY is not set", error);
        Assert.Contains("cr_live_", error);
        Assert.Contains("CONTEXTRELAY_API_KEY is not set", await server.CallErrorAsync("peek_context", new { url = relay.BaseUrl + "/pull/abc" }, ct));
        Assert.Contains("CONTEXTRELAY_API_KEY is not set", await server.CallErrorAsync("wait_for_context", new { channel = "c", timeout_seconds = 5 }, ct));
    }

    [Fact]
    public async Task A_used_up_monthly_quota_names_the_plan_and_when_it_resets()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, await relay.CreateKeyAsync("quota-" + Guid.NewGuid().ToString("N")[..6], plan: "one"), ct);

        await server.CallAsync("push_context", new { data = "the only push this month" }, ct);
        var error = await server.CallErrorAsync("push_context", new { data = "one too many" }, ct);

        var now = DateTimeOffset.UtcNow;
        var reset = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        Assert.Contains("plan 'one' allows 1 push a month and it is used up", error);
        Assert.Contains($"resets at {reset:yyyy-MM-dd} 00:00 UTC", error);
        Assert.Contains("Do not retry before then", error);
    }

    [Fact]
    public async Task A_wrong_api_key_is_named_as_the_problem()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, "cr_live_thisisnotarealkey0000000000000000", ct);

        var push = await server.CallErrorAsync("push_context", new { data = "x" }, ct);
        var wait = await server.CallErrorAsync("wait_for_context", new { channel = "c", timeout_seconds = 5 }, ct);

        Assert.Contains("rejected CONTEXTRELAY_API_KEY", push);
        Assert.Contains("cr_live_ key of your workspace", push);
        Assert.Contains("rejected CONTEXTRELAY_API_KEY", wait);
    }

    [Fact]
    public async Task An_unreachable_relay_is_named_with_its_url()
    {
        var ct = TestText.Timeout();
        var nowhere = $"http://127.0.0.1:{TestText.ClosedPort()}";
        await using var server = await McpServerProcess.StartAsync(nowhere, relay.ApiKey, ct);

        var push = await server.CallErrorAsync("push_context", new { data = "x" }, ct);
        var pull = await server.CallErrorAsync("pull_context", new { url = nowhere + "/pull/abc" }, ct);
        var wait = await server.CallErrorAsync("wait_for_context", new { channel = "c", timeout_seconds = 5 }, ct);

        foreach (var error in new[] { push, pull, wait })
        {
            Assert.Contains($"CONTEXTRELAY_URL={nowhere}", error);
            Assert.Contains("Is the relay running there?", error);
        }
    }

    [Fact]
    public async Task A_malformed_relay_url_does_not_stop_the_server()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync("localhost:8787", relay.ApiKey, ct);

        var error = await server.CallErrorAsync("push_context", new { data = "x" }, ct);

        Assert.Contains("CONTEXTRELAY_URL='localhost:8787' is not an http:// or https:// URL", error);
    }

    [Fact]
    public async Task An_unknown_url_may_have_expired_or_never_existed()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var url = $"{relay.BaseUrl}/pull/{Guid.NewGuid()}";

        foreach (var tool in new[] { "peek_context", "pull_context" })
        {
            var error = await server.CallErrorAsync(tool, new { url }, ct);
            Assert.Contains("expired (payloads live 24 h", error);
            Assert.Contains("never existed", error);
            Assert.Contains("Ask the sender to push it again", error);
        }
    }

    [Fact]
    public async Task An_expired_payload_says_so()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        using var sdk = relay.CreateClient();
        var url = await sdk.PushAsync("short-lived", ttl: TimeSpan.FromSeconds(1), cancellationToken: ct);
        await Wait.Until(async () =>
        {
            try
            {
                await sdk.PeekAsync(url, ct);
                return false;
            }
            catch (RelayNotFoundException)
            {
                return true;
            }
        }, "the payload to expire");

        var error = await server.CallErrorAsync("pull_context", new { url }, ct);

        Assert.Contains("expired", error);
    }

    [Fact]
    public async Task A_url_of_another_relay_is_pointed_out()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        var error = await server.CallErrorAsync("peek_context", new { url = $"https://elsewhere.example/pull/{Guid.NewGuid()}" }, ct);

        Assert.Contains("this URL points at https://elsewhere.example", error);
    }

    [Fact]
    public async Task A_wrong_or_missing_decryption_key_says_to_pass_the_whole_url()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var url = await server.CallTextAsync("push_context", new { data = "top secret", encrypted = true }, ct);
        var bare = url[..url.IndexOf('#', StringComparison.Ordinal)];

        var wrongKey = await server.CallErrorAsync("pull_context", new { url = bare + "#key=" + Fernet.GenerateKey() }, ct);
        var noKey = await server.CallErrorAsync("pull_context", new { url = bare }, ct);
        var brokenKey = await server.CallErrorAsync("pull_context", new { url = url[..^10] }, ct);
        var noKeyToFile = await server.CallErrorAsync("pull_context", new { url = bare, save_to = Path.Combine(Path.GetTempPath(), TestText.Unique("x")) }, ct);

        foreach (var error in new[] { wrongKey, noKey, brokenKey, noKeyToFile })
        {
            Assert.Contains("pass the whole URL", error, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("#key=", error);
            Assert.DoesNotContain("gAAAAA", error);
        }

        Assert.Contains("does not match", wrongKey);
        Assert.Contains("is encrypted", noKey);
        Assert.Equal("top secret", await server.CallTextAsync("pull_context", new { url }, ct));
    }

    [Fact]
    public async Task An_oversize_payload_says_to_split_it()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        var error = await server.CallErrorAsync("push_context", new { data = new string('x', SmallPayloadRelayFixture.MaxPayloadBytes + 1) }, ct);

        Assert.Contains("too large", error);
        Assert.Contains("Split", error);
    }

    [Theory]
    [InlineData("pull_context", "{\"url\": \"not a url at all\"}", "is not a ContextRelay URL")]
    [InlineData("peek_context", "{\"url\": \"https://relay.example/pull/ab%cd\"}", "is not a ContextRelay URL")]
    [InlineData("pull_context", "{\"url\": \"abc\", \"offset\": -1}", "offset cannot be negative")]
    [InlineData("pull_context", "{\"url\": \"abc\", \"max_chars\": 0}", "max_chars must be at least 1")]
    [InlineData("push_context", "{\"data\": \"\"}", "data is empty")]
    [InlineData("push_context", "{\"data\": \"x\", \"metadata\": [1, 2]}", "metadata must be a JSON object")]
    [InlineData("wait_for_context", "{\"channel\": \" \"}", "channel must be 1 to 200 characters")]
    public async Task Bad_arguments_are_explained(string tool, string arguments, string expected)
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        var error = await server.CallErrorAsync(tool, System.Text.Json.Nodes.JsonNode.Parse(arguments)!, ct);

        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task An_offset_past_the_end_is_explained()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var url = await server.CallTextAsync("push_context", new { data = "0123456789" }, ct);

        var error = await server.CallErrorAsync("pull_context", new { url, offset = 10 }, ct);

        Assert.Contains("the payload has 10 characters", error);
    }

    [Fact]
    public async Task Save_to_a_folder_is_explained()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var url = await server.CallTextAsync("push_context", new { data = "x" }, ct);

        var error = await server.CallErrorAsync("pull_context", new { url, save_to = Path.GetTempPath() }, ct);

        Assert.Contains("is a folder: give a file path", error);
    }

    [Fact]
    public async Task The_server_keeps_working_after_errors()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        await server.CallErrorAsync("pull_context", new { url = $"{relay.BaseUrl}/pull/{Guid.NewGuid()}" }, ct);
        await server.CallErrorAsync("push_context", new { data = new string('x', SmallPayloadRelayFixture.MaxPayloadBytes + 1) }, ct);
        await server.CallErrorAsync("pull_context", new { url = "???" }, ct);
        var url = await server.CallTextAsync("push_context", new { data = "still here" }, ct);

        Assert.Equal("still here", await server.CallTextAsync("pull_context", new { url }, ct));
    }
}
