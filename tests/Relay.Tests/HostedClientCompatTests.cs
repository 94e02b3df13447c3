using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// The hosted product's Python package (its wire behaviour in tests/TestSupport/python/hosted_sdk.py, run
/// with the real python3 and requests) against this relay: every payload comes back exactly as pushed,
/// whatever its shape and whoever pushed it; curl and the .NET SDK keep getting the exact bytes. Runs on
/// both engines.
/// </summary>
public abstract class HostedClientCompatTests(RelayFixture relay)
{
    /// <summary>JSON-shaped texts the Python SDK's pull would take apart if served as they are, and others.</summary>
    public static readonly string[] Payloads =
    [
        """{"data":"x"}""",
        """{"data":"x","metadata":{}}""",
        """{"data": "inner", "page": 2}""",
        """  {"data":"leading space","metadata":{"k":[1,2]}}""" + "\n",
        """{"data":"x","metadata":null}""",
        """{"data":1}""",
        """{"data":"first","data":"last wins in Python"}""",
        """{"data":"python parses NaN","n":NaN}""",
        """{"d\u0061ta":"escaped name"}""",
        """{"data":"Grüße 🔐 \"quoted\" \\ back\nslash\t\u0001"}""",
        """{"other":"no data member"}""",
        """[{"data":"x"}]""",
        "\"a JSON string\"",
        "plain text, not JSON",
        "{ not json at all",
        "Grüße 日本語 한국어 🔐 👍🏽",
    ];

    [Fact]
    public async Task The_python_sdk_pulls_every_payload_exactly_as_pushed_by_python_by_the_dotnet_sdk_and_by_curl()
    {
        using var sdk = relay.CreateClient();
        using var curl = relay.CreateHttpClient();

        var byPython = JsonSerializer.Deserialize<string[]>((await Python("push-many", JsonSerializer.Serialize(Payloads))).Ok())!;
        var bySdk = new List<string>();
        var byCurl = new List<string>();
        foreach (var payload in Payloads)
        {
            bySdk.Add(await sdk.PushAsync(payload));
            using var pushed = await Http.PushRawAsync(curl, Encoding.UTF8.GetBytes(payload), contentType: "text/plain");
            byCurl.Add((await pushed.Content.ReadFromJsonAsync<JsonObject>())!["url"]!.GetValue<string>());
        }

        foreach (var (pusher, urls) in new[] { ("python", byPython), ("the .NET SDK", bySdk.ToArray()), ("curl", byCurl.ToArray()) })
        {
            var pulled = JsonSerializer.Deserialize<string[]>((await Python("pull-many", JsonSerializer.Serialize(urls))).Ok())!;
            for (var i = 0; i < Payloads.Length; i++)
            {
                Assert.True(Payloads[i] == pulled[i], $"pushed by {pusher}: Python pulled «{pulled[i]}» for «{Payloads[i]}»");
            }
        }
    }

    [Fact]
    public async Task The_dotnet_sdk_always_pulls_the_exact_text_and_curl_the_exact_bytes_of_raw_pushes()
    {
        using var sdk = relay.CreateClient();
        using var curl = relay.CreateHttpClient();
        var byPython = JsonSerializer.Deserialize<string[]>((await Python("push-many", JsonSerializer.Serialize(Payloads))).Ok())!;

        for (var i = 0; i < Payloads.Length; i++)
        {
            Assert.Equal(Payloads[i], await sdk.PullAsync(byPython[i]));
            var bytes = Encoding.UTF8.GetBytes(Payloads[i]);
            using var pushed = await Http.PushRawAsync(curl, bytes, contentType: "application/octet-stream"); // application/json would be a JSON-envelope push
            var url = (await pushed.Content.ReadFromJsonAsync<JsonObject>())!["url"]!.GetValue<string>();
            Assert.Equal(bytes, await curl.GetByteArrayAsync(url));
            Assert.Equal(Payloads[i], await sdk.PullAsync(url));
        }
    }

    [Fact]
    public async Task Envelope_shaped_pushes_of_the_hosted_sdks_come_back_in_the_hosted_envelope_and_raw_on_request()
    {
        using var curl = relay.CreateHttpClient();
        var answer = await Http.PushJsonAsync(curl, new { data = """{"data":"inner","page":2}""", metadata = new { summary = "s" } });
        var url = answer["url"]!.GetValue<string>();

        using var wrapped = await curl.GetAsync(url);
        Assert.Equal("envelope", wrapped.Headers.GetValues("X-Relay-Format").Single());
        var envelope = JsonNode.Parse(await wrapped.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("""{"data":"inner","page":2}""", envelope["data"]!.GetValue<string>());
        Assert.Equal("s", envelope["metadata"]!["summary"]!.GetValue<string>());

        Assert.Equal("""{"data":"inner","page":2}""", await curl.GetStringAsync(url + "?format=raw"));
        using var head = await curl.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.Equal("envelope", head.Headers.GetValues("X-Relay-Format").Single());
        Assert.NotEqual(wrapped.Headers.ETag, (await curl.GetAsync(url + "?format=raw")).Headers.ETag);

        // Anything can be asked for in the hosted relay's shape; nonsense is a 400.
        var plain = (await Http.PushJsonAsync(curl, new { data = "plain" }))["url"]!.GetValue<string>();
        Assert.Equal("""{"data":"plain","metadata":{}}""", await curl.GetStringAsync(plain + "?format=envelope"));
        await Http.ReadProblemAsync(await curl.GetAsync(plain + "?format=xml"), 400);
    }

    [Fact]
    public async Task Text_pushed_by_curl_without_a_charset_is_labelled_utf8_so_python_decodes_it()
    {
        using var curl = relay.CreateHttpClient();
        using var pushed = await Http.PushRawAsync(curl, Encoding.UTF8.GetBytes("Grüße 🔐"), contentType: "text/plain");
        var url = (await pushed.Content.ReadFromJsonAsync<JsonObject>())!["url"]!.GetValue<string>();

        using var pulled = await curl.GetAsync(url);
        Assert.Equal("utf-8", pulled.Content.Headers.ContentType!.CharSet);
        Assert.Equal("Grüße 🔐", (await PythonOn("pull", url)).Ok());
    }

    [Fact]
    public async Task The_python_sdk_works_under_v1_push_peek_pull_and_subscribe_with_urls_keeping_the_prefix()
    {
        var v1 = relay.BaseUrl + "/v1";
        using var subscriber = HostedPythonSdk.Start(["subscribe", v1, "compat-v1", "--count", "1", "--api-key", relay.ApiKey]);
        Assert.Equal("subscribed", await Wait.For(subscriber.StandardError.ReadLineAsync(), "the Python subscriber"));

        var url = (await Python("push", "a payload under /v1", v1, "--channel", "compat-v1", "--metadata", """{"summary":"v1"}""")).Ok();
        Assert.StartsWith(v1 + "/pull/", url, StringComparison.Ordinal);
        Assert.Equal(url, await Wait.For(subscriber.StandardOutput.ReadLineAsync(), "the push frame"));
        Assert.Equal("""{"summary": "v1"}""", (await PythonOn("peek", url, v1)).Ok());
        Assert.Equal("a payload under /v1", (await PythonOn("pull", url, v1)).Ok());
        await subscriber.WaitForExitAsync();

        using var sdk = new ContextRelay(ContextRelayOptions.Default with { BaseUrl = new Uri(v1), ApiKey = relay.ApiKey });
        var fromSdk = await sdk.PushAsync("pushed through /v1 by the SDK");
        Assert.StartsWith(v1 + "/pull/", fromSdk, StringComparison.Ordinal);
        Assert.Equal("pushed through /v1 by the SDK", await sdk.PullAsync(fromSdk));
    }

    [Theory]
    [InlineData("v1/no/such/route")]
    [InlineData("pulls/123")]
    public async Task A_path_that_matches_nothing_gets_a_404_naming_the_routes(string path)
    {
        using var http = relay.CreateHttpClient();
        var problem = await Http.ReadProblemAsync(await http.GetAsync(path), 404);
        var detail = problem["detail"]!.GetValue<string>();
        Assert.Contains("/" + path, detail, StringComparison.Ordinal);
        Assert.Contains("POST /push", detail, StringComparison.Ordinal);
        Assert.Contains("GET /ws/{channel}", detail, StringComparison.Ordinal);
        Assert.Contains("/v1", detail, StringComparison.Ordinal);
    }

    private Task<PythonResult> Python(string command, string? stdin = null, string? baseUrl = null, params string[] options)
        => HostedPythonSdk.RunAsync([command, baseUrl ?? relay.BaseUrl, .. options, "--api-key", relay.ApiKey], stdin);

    /// <summary>A pull or peek of one URL.</summary>
    private Task<PythonResult> PythonOn(string command, string url, string? baseUrl = null)
        => HostedPythonSdk.RunAsync([command, baseUrl ?? relay.BaseUrl, url, "--api-key", relay.ApiKey]);
}

public sealed class SqliteHostedClientCompatTests(SqliteRelayFixture relay) : HostedClientCompatTests(relay), IClassFixture<SqliteRelayFixture>;

public sealed class RedisHostedClientCompatTests(RedisRelayFixture relay) : HostedClientCompatTests(relay), IClassFixture<RedisRelayFixture>;
