using CtxRelay.Testing;

namespace CtxRelay.Sdk.Tests;

/// <summary><see cref="ContextRelay.PushStreamAsync"/> (raw bytes) and <see cref="ContextRelay.GetHistoryAsync"/> against a real relay.</summary>
public sealed class StreamPushAndHistoryTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private static string NewChannel() => "c-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_stream_is_stored_byte_for_byte_even_when_it_is_not_text()
    {
        using var client = relay.CreateClient();
        byte[] bytes = [0xEF, 0xBB, 0xBF, 0x00, 0xFF, 0xFE, 0xC3, 0x28, (byte)'a', 0x0D, 0x0A];
        var channel = NewChannel();
        await using var subscription = await client.OpenSubscriptionAsync(channel);
        var result = await client.PushStreamAsync(new MemoryStream(bytes), "application/octet-stream", channel, new { kind = "binary" });

        using var pulled = new MemoryStream();
        Assert.Equal(bytes.Length, await client.PullToStreamAsync(result.Url, pulled));
        Assert.Equal(bytes, pulled.ToArray());
        Assert.Equal(bytes.Length, result.Size);
        Assert.Equal(channel, result.Channel);

        using var http = relay.CreateHttpClient();
        using var raw = await http.GetAsync("pull/" + result.Id);
        Assert.Equal("application/octet-stream", raw.Content.Headers.ContentType?.MediaType);

        var announced = await Wait.For(subscription.WaitForAsync(e => e.Id == result.Id), "the push event");
        Assert.Equal("binary", announced.Metadata["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unseekable_stream_is_sent_chunked_with_progress_and_an_encrypted_one_comes_back_decrypted()
    {
        using var client = relay.CreateClient();
        var bytes = new byte[3_000_000];
        new Random(7).NextBytes(bytes);
        var reported = new List<long>();
        var plain = await client.PushStreamAsync(new UnseekableStream(bytes), progress: new Recorder(reported.Add), ttl: TimeSpan.FromMinutes(10));
        Assert.Equal(bytes.Length, reported[^1]);
        Assert.InRange(plain.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(9.9), TimeSpan.FromMinutes(10.1));

        var encrypted = await client.PushStreamAsync(new MemoryStream(bytes), encrypted: true);
        Assert.Contains("#key=", encrypted.Url, StringComparison.Ordinal);
        Assert.True((await client.PeekAsync(encrypted.Url)).Encrypted);
        foreach (var url in new[] { plain.Url, encrypted.Url })
        {
            using var pulled = new MemoryStream();
            await client.PullToStreamAsync(url, pulled);
            Assert.Equal(bytes, pulled.ToArray());
        }

        await Assert.ThrowsAsync<RelayDecryptionException>(() => client.PullAsync(encrypted.Id));
    }

    [Fact]
    public async Task History_returns_the_retained_events_after_since_up_to_limit()
    {
        using var client = relay.CreateClient();
        var channel = NewChannel();
        var pushed = await client.PushWithResultAsync("payload", channel, new { n = 1 });
        var second = await client.PublishAsync(channel, "two");
        await client.PublishAsync(channel, "three", new { n = 3 });

        var all = await client.GetHistoryAsync(channel);
        Assert.Equal([RelayEventType.Push, RelayEventType.Message, RelayEventType.Message], all.Select(e => e.Type));
        Assert.Equal(pushed.Id, all[0].Id);
        Assert.Equal(1, all[0].Metadata["n"]!.GetValue<int>());
        Assert.Equal(["two", "three"], all.Skip(1).Select(e => e.Data));
        Assert.Equal(channel, all[2].Channel);

        var after = await client.GetHistoryAsync(channel, since: second);
        Assert.Equal("three", Assert.Single(after).Data);
        var first = await client.GetHistoryAsync(channel, limit: 1);
        Assert.Equal(pushed.Id, Assert.Single(first).Id);
        Assert.Empty(await client.GetHistoryAsync(NewChannel()));
    }

    [Fact]
    public async Task History_of_another_key_is_refused_with_the_typed_exception()
    {
        using var client = relay.CreateClient("cr_live_" + new string('x', 40));
        await Assert.ThrowsAsync<RelayAuthException>(() => client.GetHistoryAsync(NewChannel()));
    }

    private sealed class Recorder(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }

    /// <summary>Like standard input from a pipe: no length, no seeking.</summary>
    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
