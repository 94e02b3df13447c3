using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// POST /push, GET|HEAD|DELETE /pull, GET /peek over raw HTTP against a real relay: the wire protocol the
/// Python and JavaScript SDKs rely on. Engine-independent: each storage engine runs it through a subclass.
/// </summary>
public abstract class PayloadProtocolTests(RelayFixture relay)
{
    protected RelayFixture Relay { get; } = relay;

    [Fact]
    public async Task Root_and_healthz_answer_without_a_key()
    {
        using var http = Relay.CreateHttpClient(apiKey: null);
        var root = await http.GetFromJsonAsync<JsonObject>("");
        Assert.Equal("ContextRelay", root!["name"]!.GetValue<string>());
        var health = await http.GetFromJsonAsync<JsonObject>("healthz");
        Assert.Equal("ok", health!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Json_push_answers_url_id_channel_expiry_and_size_and_pulls_back_the_raw_text()
    {
        using var http = Relay.CreateHttpClient();
        var answer = await Http.PushJsonAsync(http, new { data = "héllo wörld ✓", channel = "jobs", metadata = new { task_id = "42" } });

        var id = answer["id"]!.GetValue<string>();
        Assert.True(Guid.TryParse(id, out var guid) && guid.Version == 4, $"id {id} should be a v4 UUID");
        Assert.Equal($"{Relay.BaseUrl}/pull/{id}", answer["url"]!.GetValue<string>());
        Assert.Equal("jobs", answer["channel"]!.GetValue<string>());
        Assert.Equal(Encoding.UTF8.GetByteCount("héllo wörld ✓"), answer["size"]!.GetValue<long>());
        var expires = DateTimeOffset.Parse(answer["expires_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromHours(23.9), TimeSpan.FromHours(24.1));

        using var pulled = await http.GetAsync($"pull/{id}");
        Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
        Assert.Equal("héllo wörld ✓", await pulled.Content.ReadAsStringAsync());
        Assert.Equal(answer["size"]!.GetValue<long>(), pulled.Content.Headers.ContentLength);
        Assert.NotNull(pulled.Headers.ETag);
    }

    [Fact]
    public async Task Push_without_a_channel_answers_channel_null()
    {
        using var http = Relay.CreateHttpClient();
        using var response = await http.PostAsJsonAsync("push", new { data = "x" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"channel\":null", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_push_takes_channel_ttl_and_metadata_header_and_keeps_bytes_and_content_type()
    {
        using var http = Relay.CreateHttpClient();
        var body = RandomNumberGenerator.GetBytes(300_000);
        using var response = await Http.PushRawAsync(http, body, "?channel=raw-c&ttl_seconds=120", "{\"pr\":\"PR-441\",\"n\":[1,2]}", "application/octet-stream");
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("raw-c", answer["channel"]!.GetValue<string>());
        var id = answer["id"]!.GetValue<string>();

        using var pulled = await http.GetAsync($"pull/{id}");
        Assert.Equal(body, await pulled.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/octet-stream", pulled.Content.Headers.ContentType?.MediaType);

        using var peek = await http.GetAsync($"peek/{id}");
        Assert.Equal("{\"pr\":\"PR-441\",\"n\":[1,2]}", await peek.Content.ReadAsStringAsync());
        Assert.Equal("300000", peek.Headers.GetValues("X-Relay-Size").Single());
        Assert.Equal("raw-c", peek.Headers.GetValues("X-Relay-Channel").Single());
        var expires = DateTimeOffset.Parse(peek.Headers.GetValues("X-Relay-Expires-At").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var created = DateTimeOffset.Parse(peek.Headers.GetValues("X-Relay-Created-At").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromSeconds(120), expires - created);
    }

    [Fact]
    public async Task Peek_returns_the_metadata_object_exactly_as_pushed_as_the_whole_body()
    {
        using var http = Relay.CreateHttpClient();
        const string metadata = "{\"task_id\":\"t-9\",\"nested\":{\"a\":[1,2.5,null,true]},\"ünï\":\"ç\"}";
        using var content = new StringContent("{\"data\":\"payload\",\"metadata\":" + metadata + "}", Encoding.UTF8, "application/json");
        using var pushed = await http.PostAsync("push", content);
        var id = (await pushed.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();

        using var peek = await http.GetAsync($"peek/{id}");
        Assert.Equal("application/json", peek.Content.Headers.ContentType?.MediaType);
        var body = await peek.Content.ReadAsStringAsync();
        Assert.Equal(metadata, body);
        Assert.Equal("t-9", JsonNode.Parse(body)!["task_id"]!.GetValue<string>()); // peek(url)["task_id"]
        Assert.Equal("false", peek.Headers.GetValues("X-Relay-Encrypted").Single());
        Assert.False(peek.Headers.Contains("X-Relay-Channel"));
    }

    [Fact]
    public async Task Peek_without_metadata_is_an_empty_object()
    {
        using var http = Relay.CreateHttpClient();
        var id = (await Http.PushJsonAsync(http, new { data = "no metadata" }))["id"]!.GetValue<string>();
        Assert.Equal("{}", await http.GetStringAsync($"peek/{id}"));
    }

    [Fact]
    public async Task Encrypted_flag_is_reported_by_peek()
    {
        using var http = Relay.CreateHttpClient();
        var id = (await Http.PushJsonAsync(http, new { data = "gAAAAAB-token", encrypted = true }))["id"]!.GetValue<string>();
        using var peek = await http.GetAsync($"peek/{id}");
        Assert.Equal("true", peek.Headers.GetValues("X-Relay-Encrypted").Single());
    }

    [Fact]
    public async Task Etag_revalidation_answers_304_and_head_sends_headers_only()
    {
        using var http = Relay.CreateHttpClient();
        var id = (await Http.PushJsonAsync(http, new { data = "cache me" }))["id"]!.GetValue<string>();
        using var first = await http.GetAsync($"pull/{id}");
        var etag = first.Headers.ETag!;

        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"pull/{id}");
        conditional.Headers.IfNoneMatch.Add(etag);
        using var notModified = await http.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"pull/{id}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(8, head.Content.Headers.ContentLength);
        Assert.Equal(etag, head.Headers.ETag);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    public async Task Pull_is_compressed_when_asked(string encoding)
    {
        using var http = Relay.CreateHttpClient();
        var text = string.Concat(Enumerable.Repeat("compressible line of text\n", 20_000));
        var id = (await Http.PushJsonAsync(http, new { data = text }))["id"]!.GetValue<string>();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"pull/{id}");
        request.Headers.AcceptEncoding.ParseAdd(encoding);
        using var response = await http.SendAsync(request);
        Assert.Equal(encoding, response.Content.Headers.ContentEncoding.Single());
        var compressed = await response.Content.ReadAsByteArrayAsync();
        Assert.True(compressed.Length < text.Length / 10, $"{encoding} body {compressed.Length} bytes");
        await using Stream decompressed = encoding == "br"
            ? new BrotliStream(new MemoryStream(compressed), CompressionMode.Decompress)
            : new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var reader = new StreamReader(decompressed);
        Assert.Equal(text, await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task Delete_removes_the_payload_early()
    {
        using var http = Relay.CreateHttpClient();
        var id = (await Http.PushJsonAsync(http, new { data = "short-lived" }))["id"]!.GetValue<string>();
        using var deleted = await http.DeleteAsync($"pull/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await Http.ReadProblemAsync(await http.GetAsync($"pull/{id}"), 404);
        await Http.ReadProblemAsync(await http.DeleteAsync($"pull/{id}"), 404);
    }

    [Theory]
    [InlineData("{\"data\":\"\"}", "empty")]
    [InlineData("{\"channel\":\"c\"}", "'data'")]
    [InlineData("{\"data\":42}", "'data'")]
    [InlineData("[1,2]", "object")]
    [InlineData("{\"data\":\"x\",\"metadata\":[1]}", "object")]
    [InlineData("{\"data\":\"x\",\"metadata\":\"s\"}", "object")]
    [InlineData("{\"data\":\"x\",\"channel\":\"bad name/../\"}", "channel")]
    [InlineData("{\"data\":\"x\",\"ttl_seconds\":-5}", "ttl_seconds")]
    [InlineData("{\"data\":\"x\",\"ttl_seconds\":99999999}", "ttl_seconds")]
    [InlineData("{not json", "JSON")]
    public async Task Bad_json_pushes_are_400_with_a_detail_that_names_the_fix(string body, string mentioned)
    {
        using var http = Relay.CreateHttpClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var problem = await Http.ReadProblemAsync(await http.PostAsync("push", content), 400);
        Assert.Contains(mentioned, problem["detail"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Bad_raw_pushes_are_400()
    {
        using var http = Relay.CreateHttpClient();
        await Http.ReadProblemAsync(await Http.PushRawAsync(http, []), 400);
        await Http.ReadProblemAsync(await Http.PushRawAsync(http, Http.Utf8("x"), metadata: "not json"), 400);
        await Http.ReadProblemAsync(await Http.PushRawAsync(http, Http.Utf8("x"), "?ttl_seconds=abc"), 400);
    }

    [Fact]
    public async Task Unknown_ids_are_404_for_pull_peek_head_and_delete()
    {
        using var http = Relay.CreateHttpClient();
        var unknown = Guid.NewGuid();
        await Http.ReadProblemAsync(await http.GetAsync($"pull/{unknown}"), 404);
        await Http.ReadProblemAsync(await http.GetAsync($"peek/{unknown}"), 404);
        await Http.ReadProblemAsync(await http.DeleteAsync($"pull/{unknown}"), 404);
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"pull/{unknown}"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Fact]
    public async Task Another_workspace_cannot_see_pull_peek_or_delete_a_payload_and_gets_the_same_404()
    {
        using var owner = Relay.CreateHttpClient();
        var id = (await Http.PushJsonAsync(owner, new { data = "secret of A", metadata = new { who = "A" } }))["id"]!.GetValue<string>();
        using var other = Relay.CreateHttpClient(await Relay.CreateKeyAsync("other-" + Guid.NewGuid().ToString("N")[..6]));

        var notMine = await Http.ReadProblemAsync(await other.GetAsync($"pull/{id}"), 404);
        var unknown = await Http.ReadProblemAsync(await other.GetAsync($"pull/{Guid.NewGuid()}"), 404);
        Assert.Equal(unknown["detail"]!.GetValue<string>(), notMine["detail"]!.GetValue<string>()); // never says which
        await Http.ReadProblemAsync(await other.GetAsync($"peek/{id}"), 404);
        await Http.ReadProblemAsync(await other.DeleteAsync($"pull/{id}"), 404);
        Assert.Equal("secret of A", await owner.GetStringAsync($"pull/{id}"));
    }

    [Fact]
    public async Task Missing_malformed_unknown_and_revoked_keys_are_401()
    {
        using (var none = Relay.CreateHttpClient(apiKey: null))
        {
            var problem = await Http.ReadProblemAsync(await none.PostAsJsonAsync("push", new { data = "x" }), 401);
            Assert.Contains("Authorization", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        using (var malformed = Relay.CreateHttpClient("not-a-key"))
        {
            await Http.ReadProblemAsync(await malformed.GetAsync($"pull/{Guid.NewGuid()}"), 401);
        }

        using (var unknown = Relay.CreateHttpClient("cr_live_" + new string('A', 40)))
        {
            await Http.ReadProblemAsync(await unknown.GetAsync($"peek/{Guid.NewGuid()}"), 401);
        }

        var workspace = "revoke-" + Guid.NewGuid().ToString("N")[..6];
        var key = await Relay.CreateKeyAsync(workspace);
        using var revoked = Relay.CreateHttpClient(key);
        await Http.PushJsonAsync(revoked, new { data = "before revocation" });
        var store = Relay.Server.Services.GetRequiredService<Storage.IRelayStore>();
        var record = (await store.ListKeysAsync(default)).Single(k => k.Workspace == workspace);
        Assert.True(await store.RevokeKeyAsync(record.Id, DateTimeOffset.UtcNow, default));
        var problem2 = await Http.ReadProblemAsync(await revoked.PostAsJsonAsync("push", new { data = "after" }), 401);
        Assert.Contains("revoked", problem2["detail"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_read_only_key_may_pull_and_peek_but_push_publish_and_delete_are_403()
    {
        var workspace = "ro-" + Guid.NewGuid().ToString("N")[..6];
        using var writer = Relay.CreateHttpClient(await Relay.CreateKeyAsync(workspace));
        using var reader = Relay.CreateHttpClient(await Relay.CreateKeyAsync(workspace, readOnly: true));
        var id = (await Http.PushJsonAsync(writer, new { data = "shared text" }))["id"]!.GetValue<string>();

        Assert.Equal("shared text", await reader.GetStringAsync($"pull/{id}"));
        Assert.Equal("{}", await reader.GetStringAsync($"peek/{id}"));
        await Http.ReadProblemAsync(await reader.PostAsJsonAsync("push", new { data = "x" }), 403);
        await Http.ReadProblemAsync(await reader.PostAsJsonAsync("publish/c", new { data = "x" }), 403);
        await Http.ReadProblemAsync(await reader.DeleteAsync($"pull/{id}"), 403);
    }

    [Fact]
    public async Task The_url_uses_the_origin_the_client_called()
    {
        var port = new Uri(Relay.BaseUrl).Port;
        using var http = new HttpClient { BaseAddress = new Uri($"http://localhost:{port}/") };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Relay.ApiKey);
        var answer = await Http.PushJsonAsync(http, new { data = "origin" });
        Assert.StartsWith($"http://localhost:{port}/pull/", answer["url"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expired_payloads_are_404_and_the_sweeper_deletes_them()
    {
        using var http = Relay.CreateHttpClient();
        var answer = await Http.PushJsonAsync(http, new { data = "ephemeral", ttl_seconds = 1 });
        var id = answer["id"]!.GetValue<string>();
        Assert.Equal("ephemeral", await http.GetStringAsync($"pull/{id}"));

        await Wait.Until(async () => (await http.GetAsync($"pull/{id}")).StatusCode == HttpStatusCode.NotFound, "the payload to expire");
        await Http.ReadProblemAsync(await http.GetAsync($"peek/{id}"), 404);

        // Not only hidden: once swept, the store no longer has it even for a reader living before expiry.
        var store = Relay.Server.Services.GetRequiredService<Storage.IRelayStore>();
        var workspace = (await store.FindKeyAsync(Auth.ApiKeys.Hash(Relay.ApiKey), default))!.Workspace;
        var beforeExpiry = DateTimeOffset.UtcNow.AddHours(-1);
        await Wait.Until(async () => await store.GetPayloadAsync(workspace, id, beforeExpiry, default) is null, "the sweeper to delete the payload");
    }
}

/// <summary>The protocol suite on the embedded (SQLite) engine.</summary>
public sealed class SqlitePayloadProtocolTests(SqliteRelayFixture relay) : PayloadProtocolTests(relay), IClassFixture<SqliteRelayFixture>;

/// <summary>A relay on the embedded engine that sweeps quickly.</summary>
public sealed class SqliteRelayFixture : RelayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Storage:Engine"] = "sqlite",
        ["Relay:SweepInterval"] = "00:00:00.200",
    };
}
