using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Mcp.Tests;

/// <summary>A payload pushed through MCP pulls with the SDK and with curl, and the other way round.</summary>
public sealed class InteropTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task Pushed_through_mcp_pulls_with_the_sdk_and_with_curl()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = TestText.Create(200_000, seed: 9);
        var url = await server.CallTextAsync("push_context", new { data = text, summary = "interop" }, ct);
        using var sdk = relay.CreateClient();

        Assert.Equal(text, await sdk.PullAsync(url, cancellationToken: ct));
        Assert.Equal("interop", (string?)(await sdk.PeekAsync(url, ct)).Metadata["summary"]);
        Assert.Equal(Encoding.UTF8.GetBytes(text), await CurlAsync(["-H", $"Authorization: Bearer {relay.ApiKey}", url], ct));
    }

    [Fact]
    public async Task Pushed_through_mcp_encrypted_pulls_with_the_sdk()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = TestText.Create(20_000, seed: 10);
        var url = await server.CallTextAsync("push_context", new { data = text, encrypted = true }, ct);
        using var sdk = relay.CreateClient();

        Assert.Equal(text, await sdk.PullAsync(url, cancellationToken: ct));
    }

    [Fact]
    public async Task Pushed_with_the_sdk_pulls_through_mcp_plain_and_encrypted()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        using var sdk = relay.CreateClient();
        var text = TestText.Create(15_000, seed: 11);

        var plain = await sdk.PushAsync(text, metadata: new { summary = "from the sdk" }, cancellationToken: ct);
        var encrypted = await sdk.PushAsync(text, encrypted: true, cancellationToken: ct);

        Assert.Equal(text, await server.CallTextAsync("pull_context", new { url = plain }, ct));
        Assert.Equal(text, await server.CallTextAsync("pull_context", new { url = encrypted }, ct));
        var peek = await server.CallJsonAsync("peek_context", new { url = plain }, ct);
        Assert.Equal("from the sdk", (string?)peek["metadata"]!["summary"]);
    }

    [Fact]
    public async Task Pushed_with_curl_pulls_through_mcp()
    {
        var ct = TestText.Timeout();
        await using var server = await McpServerProcess.StartAsync(relay.BaseUrl, relay.ApiKey, ct);
        var text = TestText.Create(100_000, seed: 12);
        var file = Path.Combine(Path.GetTempPath(), TestText.Unique("curl-body") + ".txt");
        await File.WriteAllTextAsync(file, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), ct);
        try
        {
            var answer = await CurlAsync(
            [
                "-X", "POST", "-H", $"Authorization: Bearer {relay.ApiKey}", "-H", "Content-Type: text/plain; charset=utf-8",
                "--data-binary", "@" + file, relay.BaseUrl + "/push",
            ], ct);
            var url = (string)JsonNode.Parse(answer)!["url"]!;

            Assert.Equal(text, await server.CallTextAsync("pull_context", new { url, max_chars = 100_000 }, ct));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<byte[]> CurlAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["--silent", "--show-error", "--fail-with-body", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var curl = Process.Start(start)!;
        using var output = new MemoryStream();
        var error = curl.StandardError.ReadToEndAsync(cancellationToken);
        await curl.StandardOutput.BaseStream.CopyToAsync(output, cancellationToken);
        await curl.WaitForExitAsync(cancellationToken);
        Assert.True(curl.ExitCode == 0, $"curl failed ({curl.ExitCode}): {await error}\n{Encoding.UTF8.GetString(output.ToArray())}");
        return output.ToArray();
    }
}
