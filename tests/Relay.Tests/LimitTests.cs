using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>The 25 MiB limit (decided while streaming), plans' rate limits (429) and storage quotas, on each engine.</summary>
public abstract class LimitTests(RelayFixture relay)
{
    private const int Limit = 25 * 1024 * 1024;

    /// <summary>The plans these tests use, added to each engine's fixture settings.</summary>
    internal static IDictionary<string, string?> WithPlans(IDictionary<string, string?> settings)
    {
        settings["Relay:Plans:tiny:RequestsPerMinute"] = "3";
        settings["Relay:Plans:small:MaxStoredBytes"] = "1000";
        return settings;
    }

    [Fact]
    public async Task Exactly_25_MiB_is_accepted_and_pulled_back_byte_for_byte()
    {
        using var http = relay.CreateHttpClient();
        var body = RandomNumberGenerator.GetBytes(Limit);
        using var pushed = await Http.PushRawAsync(http, body, contentType: "application/octet-stream");
        Assert.Equal(HttpStatusCode.OK, pushed.StatusCode);
        var answer = (await pushed.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(Limit, answer["size"]!.GetValue<long>());

        var pulled = await http.GetByteArrayAsync($"pull/{answer["id"]}");
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(pulled));
    }

    [Fact]
    public async Task One_byte_over_25_MiB_is_413_with_content_length()
    {
        using var http = relay.CreateHttpClient();
        var problem = await Http.ReadProblemAsync(await Http.PushRawAsync(http, new byte[Limit + 1]), 413);
        Assert.Contains("26,214,400", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_byte_over_25_MiB_is_413_while_streaming_without_content_length()
    {
        using var http = relay.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "push") { Content = new StreamContent(new MemoryStream(new byte[Limit + 1])) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        request.Headers.TransferEncodingChunked = true;
        using var response = await http.SendAsync(request);
        await Http.ReadProblemAsync(response, 413);
    }

    [Fact]
    public async Task Json_data_over_the_limit_is_413()
    {
        using var http = relay.CreateHttpClient();
        await Http.ReadProblemAsync(await http.PostAsJsonAsync("push", new { data = new string('a', Limit + 1) }), 413);
    }

    [Fact]
    public async Task A_plan_rate_limit_answers_429_with_retry_after()
    {
        using var http = relay.CreateHttpClient(await relay.CreateKeyAsync("rate-" + Guid.NewGuid().ToString("N")[..6], plan: "tiny"));
        await Wait.ForRoomInThisMinute(TimeSpan.FromSeconds(5)); // all four in one minute of the rate
        for (var i = 0; i < 3; i++)
        {
            await Http.PushJsonAsync(http, new { data = "within the plan" });
        }

        using var limited = await http.PostAsJsonAsync("push", new { data = "one too many" });
        await Http.ReadProblemAsync(limited, 429);
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Fact]
    public async Task A_plan_storage_quota_answers_429_and_stores_nothing()
    {
        using var http = relay.CreateHttpClient(await relay.CreateKeyAsync("quota-" + Guid.NewGuid().ToString("N")[..6], plan: "small"));
        await Http.PushJsonAsync(http, new { data = new string('x', 900) });
        var problem = await Http.ReadProblemAsync(await http.PostAsJsonAsync("push", new { data = new string('y', 200) }), 429);
        Assert.Contains("quota", problem["title"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }
}

public sealed class SqliteLimitTests(SqliteLimitTests.Fixture relay) : LimitTests(relay), IClassFixture<SqliteLimitTests.Fixture>
{
    public sealed class Fixture : RelayFixture
    {
        protected override IDictionary<string, string?> Settings => WithPlans(new Dictionary<string, string?>());
    }
}

public sealed class RedisLimitTests(RedisLimitTests.Fixture relay) : LimitTests(relay), IClassFixture<RedisLimitTests.Fixture>
{
    public sealed class Fixture : RedisRelayFixture
    {
        protected override IDictionary<string, string?> Settings => WithPlans(base.Settings);
    }
}

/// <summary>Behind a proxy: returned URLs use Relay:PublicBaseUrl instead of the origin the client called.</summary>
public sealed class PublicBaseUrlTests(PublicBaseUrlTests.Fixture relay) : IClassFixture<PublicBaseUrlTests.Fixture>
{
    public sealed class Fixture : RelayFixture
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            ["Relay:PublicBaseUrl"] = "https://relay.example.test/context/",
        };
    }

    [Fact]
    public async Task Push_answers_and_push_frames_use_the_public_base_url()
    {
        using var client = relay.CreateClient();
        await using var subscription = await client.OpenSubscriptionAsync("public-url");
        var result = await client.PushWithResultAsync("behind a proxy", channel: "public-url");

        Assert.Equal($"https://relay.example.test/context/pull/{result.Id}", result.Url);
        var frame = await Wait.For(subscription.WaitForAsync(_ => true), "the push frame");
        Assert.Equal(result.Url, frame.Url);
        Assert.Equal("behind a proxy", await client.PullAsync(result.Id)); // ids still work against the real address
    }
}
