using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CtxRelay.Relay.Auth;
using CtxRelay.Testing;
using Microsoft.Extensions.Configuration;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// <c>serve --open</c>: the hosted product's clients that never send a key (its contextrelay-mcp, bridge
/// <c>send</c>, CrewAI/AutoGen tools) work; keys that are sent still count; it is never on by default and
/// never reachable beyond loopback unless allowed.
/// </summary>
public sealed class OpenModeTests(OpenModeTests.Fixture relay) : IClassFixture<OpenModeTests.Fixture>
{
    public const string Workspace = "open-ws";

    public sealed class Fixture : RelayFixture
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            ["Relay:Open:Enabled"] = "true",
            ["Relay:Open:Workspace"] = Workspace,
        };
    }

    [Fact]
    public async Task The_python_sdk_without_a_key_pushes_peeks_pulls_and_subscribes()
    {
        using var subscriber = HostedPythonSdk.Start(["subscribe", relay.BaseUrl, "open-jobs", "--count", "1"]);
        Assert.Equal("subscribed", await Wait.For(subscriber.StandardError.ReadLineAsync(), "the key-less Python subscriber"));

        var url = (await HostedPythonSdk.RunAsync(["push", relay.BaseUrl, "--channel", "open-jobs", "--metadata", """{"summary":"open"}"""], "no key needed")).Ok();
        Assert.Equal(url, await Wait.For(subscriber.StandardOutput.ReadLineAsync(), "the push frame"));
        Assert.Equal("no key needed", (await HostedPythonSdk.RunAsync(["pull", relay.BaseUrl, url])).Ok());
        Assert.Equal("""{"summary": "open"}""", (await HostedPythonSdk.RunAsync(["peek", relay.BaseUrl, url])).Ok());
        await subscriber.WaitForExitAsync();

        // Key-less requests act in the configured workspace: its keys see the payload, others' do not.
        using var owner = relay.CreateClient(await relay.CreateKeyAsync(Workspace));
        Assert.Equal("no key needed", await owner.PullAsync(url));
        using var stranger = relay.CreateClient();
        await Assert.ThrowsAsync<RelayNotFoundException>(() => stranger.PullAsync(url));
    }

    [Fact]
    public async Task A_key_that_is_sent_still_counts()
    {
        using var http = relay.CreateHttpClient(apiKey: "cr_live_" + new string('x', 40));
        await Http.ReadProblemAsync(await http.PostAsJsonAsync("push", new { data = "x" }), 401);

        using var readOnly = relay.CreateHttpClient(await relay.CreateKeyAsync("ro-ws", readOnly: true));
        await Http.ReadProblemAsync(await readOnly.PostAsJsonAsync("push", new { data = "x" }), 403);

        using var keyed = relay.CreateClient();
        var mine = await keyed.PushAsync("in my own workspace");
        using var anonymous = relay.CreateHttpClient(apiKey: null);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(mine)).StatusCode);
    }

    [Fact]
    public async Task Root_and_healthz_say_open_mode_is_on()
    {
        using var http = relay.CreateHttpClient(apiKey: null);
        Assert.True((await http.GetFromJsonAsync<JsonObject>(""))!["open_mode"]!.GetValue<bool>());
        Assert.True((await http.GetFromJsonAsync<JsonObject>("healthz"))!["open_mode"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("http://0.0.0.0:8787", false, true)]
    [InlineData("http://*:8787", false, true)]
    [InlineData("http://127.0.0.1:8787;http://192.0.2.10:8787", false, true)]
    [InlineData("http://0.0.0.0:8787", true, false)]
    [InlineData("http://127.0.0.1:0;http://localhost:8787;http://[::1]:8787", false, false)]
    public void Open_mode_refuses_non_loopback_addresses_unless_allowed(string urls, bool allowRemote, bool refused)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = urls }).Build();
        var open = new OpenModeOptions { Enabled = true, AllowRemote = allowRemote };

        var error = Record.Exception(() => OpenMode.EnsureAllowed(configuration, open));

        Assert.Equal(refused, error is InvalidOperationException);
        if (refused)
        {
            Assert.Contains("--open-allow-remote", error!.Message, StringComparison.Ordinal);
        }
    }
}

/// <summary>Open mode is never the default: a relay without it answers key-less requests with 401.</summary>
public sealed class ClosedByDefaultTests(SqliteRelayFixture relay) : IClassFixture<SqliteRelayFixture>
{
    [Fact]
    public async Task Without_open_mode_the_python_sdk_without_a_key_gets_401_and_root_says_so()
    {
        var result = await HostedPythonSdk.RunAsync(["push", relay.BaseUrl], "x");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("HTTPError 401", result.Stderr, StringComparison.Ordinal);

        using var http = relay.CreateHttpClient(apiKey: null);
        Assert.False((await http.GetFromJsonAsync<JsonObject>(""))!["open_mode"]!.GetValue<bool>());
    }
}

/// <summary>Relay:PathBase: behind a proxy that forwards /relay/… unchanged, with /v1 under it too.</summary>
public sealed class PathBaseTests(PathBaseTests.Fixture relay) : IClassFixture<PathBaseTests.Fixture>
{
    public sealed class Fixture : RelayFixture
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Relay:PathBase"] = "/relay/" };
    }

    [Theory]
    [InlineData("/relay")]
    [InlineData("/relay/v1")]
    [InlineData("/v1")]
    [InlineData("")]
    public async Task Every_prefix_serves_push_pull_peek_and_websockets_and_urls_keep_it(string prefix)
    {
        var baseUrl = relay.BaseUrl + prefix;
        using var client = new ContextRelay(ContextRelayOptions.Default with { BaseUrl = new Uri(baseUrl), ApiKey = relay.ApiKey });
        await using var subscription = await client.OpenSubscriptionAsync("prefixed");

        var pushed = await client.PushWithResultAsync("behind a prefix", channel: "prefixed", metadata: new { p = prefix });

        Assert.Equal($"{baseUrl}/pull/{pushed.Id}", pushed.Url);
        Assert.Equal(pushed.Url, (await Wait.For(subscription.WaitForAsync(e => e.Id == pushed.Id), "the push frame")).Url);
        Assert.Equal("behind a prefix", await client.PullAsync(pushed.Url));
        Assert.Equal(prefix, (await client.PeekAsync(pushed.Url)).Metadata["p"]!.GetValue<string>());

        using var http = relay.CreateHttpClient(apiKey: null);
        Assert.Equal("ok", (await http.GetFromJsonAsync<JsonObject>(baseUrl + "/healthz"))!["status"]!.GetValue<string>());
    }
}
