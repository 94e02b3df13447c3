using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Sdk.Tests;

/// <summary>The SDK against a real relay on loopback.</summary>
public sealed class ClientTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task Push_pull_and_peek_round_trip_with_metadata()
    {
        using var client = relay.CreateClient();
        var url = await client.PushAsync("review notes ✓", channel: "c-" + Guid.NewGuid().ToString("N")[..6], metadata: new { pr = "PR-441", files = 3 });
        Assert.StartsWith(relay.BaseUrl + "/pull/", url, StringComparison.Ordinal);

        Assert.Equal("review notes ✓", await client.PullAsync(url));
        var info = await client.PeekAsync(url);
        Assert.Equal("PR-441", info.Metadata["pr"]!.GetValue<string>());
        Assert.Equal(3, info.Metadata["files"]!.GetValue<int>());
        Assert.Equal(Encoding.UTF8.GetByteCount("review notes ✓"), info.Size);
        Assert.False(info.Encrypted);
        Assert.InRange(info.ExpiresAt - info.CreatedAt, TimeSpan.FromHours(23.99), TimeSpan.FromHours(24.01));
    }

    [Fact]
    public async Task Pull_and_peek_take_a_url_with_a_fragment_or_a_bare_id()
    {
        using var client = relay.CreateClient();
        var result = await client.PushWithResultAsync("by id");
        Assert.Equal("by id", await client.PullAsync(result.Id));
        Assert.Equal("by id", await client.PullAsync(result.Url + "#section"));
        Assert.Equal(result.Id, (await client.PeekAsync(result.Id)).Id);
    }

    [Fact]
    public async Task Ttl_and_delete_work_through_the_sdk()
    {
        using var client = relay.CreateClient();
        var result = await client.PushWithResultAsync("brief", ttl: TimeSpan.FromMinutes(5));
        Assert.InRange(result.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(4.9), TimeSpan.FromMinutes(5.1));
        await client.DeleteAsync(result.Url);
        await Assert.ThrowsAsync<RelayNotFoundException>(() => client.PullAsync(result.Url));
    }

    [Fact]
    public async Task Progress_is_reported_for_large_push_and_pull()
    {
        using var client = relay.CreateClient();
        var text = new string('p', 3_000_000);
        var pushed = new List<long>();
        var pulled = new List<long>();
        var url = await client.PushAsync(text, progress: new SyncProgress(pushed.Add));
        Assert.Equal(text, await client.PullAsync(url, new SyncProgress(pulled.Add)));
        Assert.True(pushed.Count > 1 && pushed[^1] == 3_000_000, $"push progress {string.Join(",", pushed.TakeLast(3))}");
        Assert.True(pulled.Count > 1 && pulled[^1] == 3_000_000, $"pull progress {string.Join(",", pulled.TakeLast(3))}");
    }

    [Fact]
    public async Task Errors_are_typed_and_carry_the_relays_problem_detail()
    {
        using var client = relay.CreateClient();
        var notFound = await Assert.ThrowsAsync<RelayNotFoundException>(() => client.PullAsync(Guid.NewGuid().ToString()));
        Assert.Equal(404, notFound.Problem!.Status);
        Assert.Contains("expired", notFound.Problem.Detail, StringComparison.Ordinal);

        using var wrongKey = relay.CreateClient("cr_live_" + new string('Q', 40));
        var auth = await Assert.ThrowsAsync<RelayAuthException>(() => wrongKey.PushAsync("x"));
        Assert.Contains("Unknown API key", auth.Message, StringComparison.Ordinal);

        using var readOnly = relay.CreateClient(await relay.CreateKeyAsync("ro-" + Guid.NewGuid().ToString("N")[..6], readOnly: true));
        await Assert.ThrowsAsync<RelayForbiddenException>(() => readOnly.PushAsync("x"));

        using var nowhere = new ContextRelay(ContextRelayOptions.Default with { BaseUrl = new Uri("http://127.0.0.1:1"), ApiKey = relay.ApiKey });
        var unavailable = await Assert.ThrowsAsync<RelayUnavailableException>(() => nowhere.PushAsync("x"));
        Assert.Contains("Cannot reach the relay", unavailable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Encrypted_push_puts_the_key_only_in_the_fragment_and_the_relay_never_sees_it()
    {
        await using var proxy = new CapturingProxy(new Uri(relay.BaseUrl));
        using var client = new ContextRelay(ContextRelayOptions.Default with { BaseUrl = new Uri(proxy.BaseUrl), ApiKey = relay.ApiKey });
        const string secret = "the launch code is 0000 — do not share";

        var url = await client.PushAsync(secret, metadata: new { summary = "plaintext summary" }, encrypted: true);
        var key = url[(url.IndexOf("#key=", StringComparison.Ordinal) + 5)..];
        Assert.Equal(44, key.Length); // urlsafe base64 of 32 bytes
        Assert.Equal(secret, await client.PullAsync(url));

        var wire = proxy.SentText;
        Assert.Contains("POST /push", wire, StringComparison.Ordinal);
        Assert.DoesNotContain(key, wire, StringComparison.Ordinal);
        Assert.DoesNotContain(key.TrimEnd('='), wire, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Convert.FromBase64String(key.Replace('-', '+').Replace('_', '/'))), wire, StringComparison.Ordinal);
        Assert.DoesNotContain("launch code", wire, StringComparison.Ordinal);

        using var plain = relay.CreateHttpClient();
        var stored = await plain.GetStringAsync(url[..url.IndexOf('#', StringComparison.Ordinal)]);
        Assert.StartsWith("gAAAAA", stored, StringComparison.Ordinal); // a Fernet token, not the text
        var info = await client.PeekAsync(url);
        Assert.True(info.Encrypted);
        Assert.Equal("plaintext summary", info.Metadata["summary"]!.GetValue<string>()); // metadata stays plaintext
    }

    [Fact]
    public async Task Encrypted_payloads_without_or_with_a_wrong_key_fail_with_a_decryption_error_never_garbage()
    {
        using var client = relay.CreateClient();
        var url = await client.PushAsync("secret", encrypted: true);
        var bare = url[..url.IndexOf('#', StringComparison.Ordinal)];
        var wrong = bare + "#key=" + Fernet.GenerateKey();

        var ex = await Assert.ThrowsAsync<RelayDecryptionException>(() => client.PullAsync(wrong));
        Assert.Contains("#key=", ex.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<RelayDecryptionException>(() => client.PullAsync(bare)); // not the ciphertext as text
        Assert.Contains("#key=", missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<RelayDecryptionException>(() => client.PullToStreamAsync(bare, Stream.Null));
    }

    [Theory]
    [InlineData("localhost:8787")]
    [InlineData("ftp://relay")]
    [InlineData("not a url")]
    public void A_base_url_that_is_not_http_is_refused_with_a_clear_error(string url)
    {
        var ex = Assert.Throws<ArgumentException>(() => new ContextRelay(relay.ApiKey, url));
        Assert.Contains("http://", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Python_decrypts_what_the_sdk_pushed_encrypted_using_only_the_url()
    {
        using var client = relay.CreateClient();
        var text = "from C# to Python: ünïcödé ✓ " + new string('z', 100_000);
        var url = await client.PushAsync(text, encrypted: true);

        // What a Python user does with the URL: GET it with requests-like code, Fernet-decrypt with the fragment key.
        var script = """
            import sys, urllib.request
            from cryptography.fernet import Fernet
            url, api_key = sys.argv[1], sys.argv[2]
            base, key = url.split('#key=')
            req = urllib.request.Request(base, headers={'Authorization': 'Bearer ' + api_key})
            token = urllib.request.urlopen(req).read()
            sys.stdout.buffer.write(Fernet(key.encode()).decrypt(token))
            """;
        var output = await RunPythonAsync(script, url, relay.ApiKey);
        Assert.Equal(text, output);
    }

    [Fact]
    public async Task The_sdk_pulls_and_decrypts_what_python_pushed_the_way_the_python_sdk_does()
    {
        using var client = relay.CreateClient();
        var script = """
            import sys, json, urllib.request
            from cryptography.fernet import Fernet
            base_url, api_key = sys.argv[1], sys.argv[2]
            key = Fernet.generate_key()
            token = Fernet(key).encrypt('from Python: ✓ grüße'.encode()).decode()
            body = json.dumps({'data': token, 'channel': 'py', 'metadata': {'task_id': 'py-1'}}).encode()
            req = urllib.request.Request(base_url + '/push', data=body, method='POST',
                headers={'Authorization': 'Bearer ' + api_key, 'Content-Type': 'application/json'})
            answer = json.load(urllib.request.urlopen(req))
            assert set(['url', 'id', 'channel']) <= set(answer), answer
            print(answer['url'] + '#key=' + key.decode())
            """;
        var url = (await RunPythonAsync(script, relay.BaseUrl, relay.ApiKey)).Trim();
        Assert.Equal("from Python: ✓ grüße", await client.PullAsync(url));
        Assert.Equal("py-1", (await client.PeekAsync(url)).Metadata["task_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Subscribe_delivers_pushes_and_messages_in_order()
    {
        using var client = relay.CreateClient();
        var channel = "sub-" + Guid.NewGuid().ToString("N")[..8];
        await using var subscription = await client.OpenSubscriptionAsync(channel);

        var url = await client.PushAsync("task one", channel: channel, metadata: new { task_id = "1" });
        await client.PublishAsync(channel, "note", metadata: new { kind = "info" });

        var events = new List<RelayEvent>();
        await foreach (var relayEvent in subscription.ReadAllAsync().WithTimeout())
        {
            events.Add(relayEvent);
            if (events.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(RelayEventType.Push, events[0].Type);
        Assert.Equal(url, events[0].Url);
        Assert.Equal("1", events[0].Metadata["task_id"]!.GetValue<string>());
        Assert.Equal(RelayEventType.Message, events[1].Type);
        Assert.Equal("note", events[1].Data);
        Assert.Equal(events[0].Seq + 1, events[1].Seq);
        Assert.Equal("task one", await client.PullAsync(events[0].Url!));
    }

    [Fact]
    public async Task The_async_enumerable_and_callback_forms_both_receive_events()
    {
        using var client = relay.CreateClient();
        var channel = "cb-" + Guid.NewGuid().ToString("N")[..8];
        var received = new TaskCompletionSource<RelayEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var callback = await client.SubscribeAsync(channel, (e, _) =>
        {
            received.TrySetResult(e);
            return Task.CompletedTask;
        });

        using var cts = new CancellationTokenSource(Wait.Default);
        var enumerated = Task.Run(async () =>
        {
            await foreach (var e in client.SubscribeAsync(channel, cts.Token))
            {
                return e;
            }

            throw new InvalidOperationException("ended without an event");
        });

        // The enumerable connects lazily; publish until it has seen one (the callback sees them all).
        while (!enumerated.IsCompleted)
        {
            await client.PublishAsync(channel, "ping");
            await Task.WhenAny(enumerated, Task.Delay(100));
        }

        Assert.Equal("ping", (await enumerated).Data);
        Assert.Equal("ping", (await Wait.For(received.Task, "the callback")).Data);
    }

    [Fact]
    public async Task A_throwing_callback_stops_delivery_and_faults_completion_instead_of_vanishing()
    {
        using var client = relay.CreateClient();
        var channel = "cbx-" + Guid.NewGuid().ToString("N")[..8];
        var calls = 0;
        var subscription = await client.SubscribeAsync(channel, (_, _) =>
        {
            Interlocked.Increment(ref calls);
            throw new InvalidOperationException("handler bug");
        });
        Assert.False(subscription.Completion.IsCompleted);

        await client.PublishAsync(channel, "one");
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => subscription.Completion.WaitAsync(Wait.Default));
        Assert.Equal("handler bug", failure.Message);
        await client.PublishAsync(channel, "two");
        await subscription.DisposeAsync(); // does not rethrow: Completion reported it
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_subscription_with_a_wrong_key_fails_with_an_auth_error()
    {
        using var client = relay.CreateClient("cr_live_" + new string('W', 40));
        var ex = await Assert.ThrowsAnyAsync<RelayException>(() => client.OpenSubscriptionAsync("nope"));
        Assert.IsType<RelayAuthException>(ex);
    }

    private static async Task<string> RunPythonAsync(string script, params string[] args)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.StandardOutputEncoding = Encoding.UTF8;
        start.Environment["PYTHONIOENCODING"] = "utf-8";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, "python3 failed (needs the 'cryptography' package): " + await stderr);
        return await stdout;
    }

    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}

internal static class AsyncEnumerableExtensions
{
    /// <summary>Fails the enumeration when it stalls for longer than the test default.</summary>
    public static async IAsyncEnumerable<T> WithTimeout<T>(this IAsyncEnumerable<T> source)
    {
        await using var enumerator = source.GetAsyncEnumerator();
        while (await enumerator.MoveNextAsync().AsTask().WaitAsync(Wait.Default))
        {
            yield return enumerator.Current;
        }
    }
}
