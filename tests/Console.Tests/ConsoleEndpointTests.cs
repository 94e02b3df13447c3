using System.Net;

namespace CtxRelay.Console.Tests;

/// <summary>GET /console over plain HTTP: the embedded page and its assets, anonymous, under every prefix.</summary>
public class ConsoleEndpointTests(ConsoleRelay relay) : IClassFixture<ConsoleRelay>
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(relay.BaseUrl + "/") };

    [Theory]
    [InlineData("console", "/console/")]
    [InlineData("console/", "/console/")]
    [InlineData("v1/console", "/v1/console/")]
    public async Task The_page_is_served_without_a_key_with_its_base_under_the_prefix_it_was_asked_under(string path, string expectedBase)
    {
        using var response = await _http.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains($"<base href=\"{expectedBase}\">", html, StringComparison.Ordinal);
        Assert.Contains("<script type=\"module\" src=\"console.js\">", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("console/console.js", "text/javascript", "from './sdk/index.js'")]
    [InlineData("console/console.css", "text/css", "tr.push")]
    [InlineData("console/sdk/index.js", "text/javascript", "export { ContextRelay")]
    [InlineData("v1/console/sdk/fernet.js", "text/javascript", "export")]
    public async Task Assets_are_served_with_their_content_type(string path, string contentType, string content)
    {
        using var response = await _http.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(content, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_a_configured_path_base_the_page_points_its_assets_and_the_sdk_under_it()
    {
        using var data = new CtxRelay.Testing.TemporaryDirectory("console-pathbase");
        await using var proxied = await CtxRelay.Relay.RelayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Relay:DataDirectory"] = data.Path,
            ["Relay:PathBase"] = "/relay",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        using var http = new HttpClient { BaseAddress = proxied.BaseUrl };

        Assert.Contains("<base href=\"/relay/console/\">", await http.GetStringAsync("relay/console"), StringComparison.Ordinal);
        Assert.Contains("<base href=\"/relay/v1/console/\">", await http.GetStringAsync("relay/v1/console"), StringComparison.Ordinal);
        using var asset = await http.GetAsync("relay/console/sdk/client.js");
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
    }

    [Fact]
    public async Task An_unknown_asset_is_404()
    {
        using var response = await _http.GetAsync("console/nope.js");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task The_relay_lists_the_console_among_its_routes()
    {
        Assert.Contains("GET /console", await _http.GetStringAsync(string.Empty), StringComparison.Ordinal);
    }
}
