using CtxRelay.Testing;

namespace CtxRelay.Mcp.Tests;

/// <summary>
/// The MCP server next to the hosted product's Python clients: against a relay in open mode with no key
/// set (as the Python package's tools run), through a <c>/v1</c> base URL, and on payloads shaped like the
/// hosted relay's envelope.
/// </summary>
public sealed class HostedCompatTests(HostedCompatTests.OpenRelay relay) : IClassFixture<HostedCompatTests.OpenRelay>
{
    public sealed class OpenRelay : RelayFixture
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            ["Relay:Open:Enabled"] = "true",
            ["Relay:Open:Workspace"] = "mcp-open",
        };
    }

    [Fact]
    public async Task Without_a_key_against_an_open_relay_under_v1_the_tools_hand_payloads_to_and_from_the_python_sdk()
    {
        var ct = TestText.Timeout();
        var v1 = relay.BaseUrl + "/v1";
        await using var server = await McpServerProcess.StartAsync(v1, apiKey: null, ct);
        const string shaped = """{"data": "inner", "page": 2}""";

        var url = await server.CallTextAsync("push_context", new { data = shaped, summary = "page 2" }, ct);
        Assert.StartsWith(v1 + "/pull/", url, StringComparison.Ordinal);
        Assert.Equal(shaped, (await HostedPythonSdk.RunAsync(["pull", v1, url])).Ok());
        Assert.Equal("""{"summary": "page 2"}""", (await HostedPythonSdk.RunAsync(["peek", v1, url])).Ok());

        var fromPython = (await HostedPythonSdk.RunAsync(["push", v1], shaped)).Ok();
        Assert.Equal(shaped, await server.CallTextAsync("pull_context", new { url = fromPython }, ct));
    }
}
