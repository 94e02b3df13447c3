using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;
using ModelContextProtocol.Protocol;

namespace CtxRelay.Mcp.Tests;

/// <summary>push → peek → pull through the MCP server, plain and encrypted, and payloads as resources.</summary>
public sealed class RoundTripTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task Push_then_peek_then_pull_returns_the_text()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = TestText.Create(5_000, seed: 2);
        var channel = TestText.Unique("round-trip");

        var push = await server.CallAsync("push_context", new
        {
            data = text,
            channel,
            summary = "Build log of run 42",
            metadata = new { content_type = "text/plain", files = 3 },
        }, ct);
        Assert.False(push.IsError is true, push.AllText());
        var url = push.Text();
        Assert.StartsWith(relay.BaseUrl + "/pull/", url);
        Assert.DoesNotContain("#", url);
        Assert.Contains("expires", push.Text(1));

        var peek = await server.CallJsonAsync("peek_context", new { url }, ct);
        Assert.Equal("Build log of run 42", (string?)peek["metadata"]!["summary"]);
        Assert.Equal("text/plain", (string?)peek["metadata"]!["content_type"]);
        Assert.Equal(3, (int)peek["metadata"]!["files"]!);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), (long)peek["size_bytes"]!);
        Assert.Equal(channel, (string?)peek["channel"]);
        Assert.False((bool)peek["encrypted"]!);
        var expires = DateTimeOffset.Parse((string)peek["expires_at"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromHours(23), TimeSpan.FromHours(25));
        Assert.DoesNotContain(text[..100], peek.ToJsonString());

        var pull = await server.CallAsync("pull_context", new { url }, ct);
        Assert.False(pull.IsError is true, pull.AllText());
        Assert.Equal(text, Assert.Single(pull.Content.OfType<TextContentBlock>()).Text);
    }

    [Fact]
    public async Task An_encrypted_push_pulls_back_only_with_the_key_in_the_url()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = "secret: " + TestText.Create(3_000, seed: 3);

        var url = await server.CallTextAsync("push_context", new { data = text, encrypted = true, summary = "credentials" }, ct);
        Assert.Matches("/pull/[^#]+#key=[A-Za-z0-9_=-]{44}$", url);

        var peek = await server.CallJsonAsync("peek_context", new { url }, ct);
        Assert.True((bool)peek["encrypted"]!);
        Assert.Equal("credentials", (string?)peek["metadata"]!["summary"]);

        Assert.Equal(text, await server.CallTextAsync("pull_context", new { url }, ct));

        // The relay only ever saw ciphertext (read raw: the SDK refuses to hand out ciphertext as text).
        using var http = relay.CreateHttpClient();
        var stored = await http.GetStringAsync(url[..url.IndexOf('#', StringComparison.Ordinal)], ct);
        Assert.DoesNotContain("secret", stored);
        Assert.StartsWith("gAAAAA", stored);
    }

    [Fact]
    public async Task A_payload_reads_as_a_contextrelay_resource()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = TestText.Create(50_000, seed: 4);
        using var sdk = relay.CreateClient();
        var pushed = await sdk.PushWithResultAsync(text, cancellationToken: ct);

        var resource = await server.Client.ReadResourceAsync($"contextrelay://{pushed.Id}", cancellationToken: ct);

        var contents = Assert.IsType<TextResourceContents>(Assert.Single(resource.Contents));
        Assert.Equal(text, contents.Text);
        Assert.Equal("text/plain", contents.MimeType);
    }

    [Fact]
    public async Task An_unknown_resource_is_an_error_that_says_why()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        var error = await Assert.ThrowsAnyAsync<ModelContextProtocol.McpException>(
            () => server.Client.ReadResourceAsync($"contextrelay://{Guid.NewGuid()}", cancellationToken: ct).AsTask());

        Assert.Contains("expired", error.Message);
    }

    [Fact]
    public async Task Metadata_sent_as_a_json_string_is_accepted()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);

        var url = await server.CallTextAsync("push_context", new { data = "x", metadata = "{\"owner\": \"agent-b\"}" }, ct);

        var peek = await server.CallJsonAsync("peek_context", new { url }, ct);
        Assert.Equal("agent-b", (string?)peek["metadata"]!["owner"]);
        Assert.IsType<JsonObject>(peek["metadata"]);
    }
}
