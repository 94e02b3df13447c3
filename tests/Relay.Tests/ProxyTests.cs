using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>A relay behind a trusted reverse proxy (loopback): X-Forwarded-* decide URLs and client addresses.</summary>
public sealed class TrustedProxyFixture : RelayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Relay:TrustedProxies:0"] = "127.0.0.1",
        ["Relay:TrustedProxies:1"] = "::1",
        ["Relay:FailedAuthLimit"] = "2",
    };
}

public sealed class ProxyTests(TrustedProxyFixture behindProxy) : IClassFixture<TrustedProxyFixture>
{
    [Fact]
    public async Task Behind_a_trusted_proxy_returned_urls_use_the_forwarded_scheme_host_and_prefix()
    {
        using var http = behindProxy.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "push") { Content = JsonContent.Create(new { data = "via the proxy" }) };
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "relay.example.com");
        request.Headers.Add("X-Forwarded-Prefix", "/cr");
        request.Headers.Add("X-Forwarded-For", "203.0.113.7");
        using var response = await http.SendAsync(request);
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.StartsWith("https://relay.example.com/cr/pull/", answer["url"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_bad_keys_are_counted_per_forwarded_client_address()
    {
        using var http = behindProxy.CreateHttpClient(apiKey: null);
        for (var i = 0; i < 2; i++)
        {
            await Http.ReadProblemAsync(await GuessAsync(http, "198.51.100.1"), 401);
        }

        await Http.ReadProblemAsync(await GuessAsync(http, "198.51.100.1"), 429); // that client is throttled…
        await Http.ReadProblemAsync(await GuessAsync(http, "198.51.100.2"), 401); // …not every client of the proxy
    }

    [Fact]
    public async Task Without_trusted_proxies_forwarded_headers_are_ignored()
    {
        using var data = new TemporaryDirectory("noproxy");
        await using var relay = await RelayServer.StartAsync(new Dictionary<string, string?> { ["Relay:DataDirectory"] = data.Path, ["Logging:LogLevel:Default"] = "Warning" });
        using var http = new HttpClient { BaseAddress = relay.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", await relay.CreateKeyAsync("direct"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "push") { Content = JsonContent.Create(new { data = "direct" }) };
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "evil.example.com");
        using var response = await http.SendAsync(request);
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.StartsWith(relay.BaseUrl.AbsoluteUri.TrimEnd('/') + "/pull/", answer["url"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> GuessAsync(HttpClient http, string clientAddress)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "channels/c/history");
        request.Headers.Authorization = new("Bearer", "cr_live_" + Guid.NewGuid().ToString("N") + "ABCDEFGH");
        request.Headers.Add("X-Forwarded-For", clientAddress);
        return http.SendAsync(request);
    }
}
