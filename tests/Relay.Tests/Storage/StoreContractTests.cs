using System.Security.Cryptography;
using CtxRelay.Relay.Storage;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// The storage contract, tested on <see cref="IRelayStore"/> directly: every engine inherits this class
/// and passes the same tests. Each test gets a fresh store (its own database or key prefix) and its own
/// workspace and channel names.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private protected static readonly ChannelRetention KeepEverything = new(1_000_000, TimeSpan.FromDays(365));
    private IRelayStore? _store;

    protected string Workspace { get; } = NewName("ws");

    /// <summary>The store under test, initialized.</summary>
    private protected IRelayStore Store => _store ?? throw new InvalidOperationException("The store has not been created.");

    /// <summary>
    /// A new, empty store of the engine; the suite initializes and disposes it. (<c>private protected</c>:
    /// <see cref="IRelayStore"/> is internal to the relay and visible to this assembly only.)
    /// </summary>
    private protected abstract Task<IRelayStore> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.InitializeAsync(CancellationToken.None);
    }

    public virtual async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    // ---- payloads -------------------------------------------------------------------------------

    [Fact]
    public async Task A_one_byte_payload_round_trips()
    {
        var record = await SaveAsync([0x2A]);

        await using var content = await Store.OpenPayloadAsync(Workspace, record.Id, Now, default);
        Assert.NotNull(content);
        Assert.Equal([0x2A], await ReadAllAsync(content.Content));
    }

    [Fact]
    public async Task An_empty_payload_round_trips_empty()
    {
        var record = await SaveAsync([]);

        await using var content = await Store.OpenPayloadAsync(Workspace, record.Id, Now, default);
        Assert.NotNull(content);
        Assert.Equal(record, content.Record);
        Assert.Empty(await ReadAllAsync(content.Content));
    }

    [Fact]
    public async Task A_payload_of_several_chunks_round_trips_byte_exact()
    {
        var data = RandomNumberGenerator.GetBytes((int)(3.5 * 1024 * 1024) + 123);
        var record = await SaveAsync(data);

        await using (var content = await Store.OpenPayloadAsync(Workspace, record.Id, Now, default))
        {
            Assert.NotNull(content);
            Assert.Equal(data.Length, content.Record.Size);
            Assert.Equal(data, await ReadInSmallPiecesAsync(content.Content, 7_001));
        }

        await using (var again = await Store.OpenPayloadAsync(Workspace, record.Id, Now, default))
        {
            Assert.Equal(data, await ReadAllAsync(again!.Content));
        }
    }

    [Fact]
    public async Task The_record_keeps_every_field()
    {
        var saved = await SaveAsync("ciphertext"u8.ToArray(), channel: "jobs.reports", encrypted: true, metadataJson: """{"task_id":"42","note":"héllo"}""", contentType: "text/markdown; charset=utf-8");
        var plain = await SaveAsync("plain"u8.ToArray());
        var shaped = await SaveAsync("""{"data":"x"}"""u8.ToArray(), shape: EnvelopeShape.PushedAsJson);
        var shapedRaw = await SaveAsync("""{"data":"y"}"""u8.ToArray(), shape: EnvelopeShape.PushedRaw);
        Assert.Equal(shaped, await Store.GetPayloadAsync(Workspace, shaped.Id, Now, default));
        Assert.Equal(shapedRaw, await Store.GetPayloadAsync(Workspace, shapedRaw.Id, Now, default));

        Assert.Equal(saved, await Store.GetPayloadAsync(Workspace, saved.Id, Now, default));
        var plainRecord = await Store.GetPayloadAsync(Workspace, plain.Id, Now, default);
        Assert.Equal(plain, plainRecord);
        Assert.Null(plainRecord!.Channel);
        Assert.False(plainRecord.Encrypted);
        await using var content = await Store.OpenPayloadAsync(Workspace, saved.Id, Now, default);
        Assert.Equal(saved, content!.Record);
    }

    [Fact]
    public async Task An_expired_payload_is_hidden_from_get_and_open()
    {
        var record = await SaveAsync([1, 2, 3], ttl: TimeSpan.FromMinutes(5));

        Assert.NotNull(await Store.GetPayloadAsync(Workspace, record.Id, record.ExpiresAt.AddMilliseconds(-1), default));
        Assert.Null(await Store.GetPayloadAsync(Workspace, record.Id, record.ExpiresAt, default));
        Assert.Null(await Store.OpenPayloadAsync(Workspace, record.Id, record.ExpiresAt.AddHours(1), default));
    }

    [Fact]
    public async Task Sweep_deletes_expired_payloads_and_keeps_live_ones()
    {
        var shortLived = await SaveAsync([1], ttl: TimeSpan.FromMinutes(1));
        var longLived = await SaveAsync([2], ttl: TimeSpan.FromHours(1));

        Assert.Equal(1, await Store.SweepAsync(Now.AddMinutes(2), KeepEverything, default));

        // Gone for good, even when asked with a time before its expiry.
        Assert.Null(await Store.GetPayloadAsync(Workspace, shortLived.Id, Now, default));
        Assert.NotNull(await Store.GetPayloadAsync(Workspace, longLived.Id, Now, default));
        Assert.Equal(0, await Store.SweepAsync(Now.AddMinutes(2), KeepEverything, default));
    }

    [Fact]
    public async Task A_sweep_removes_thousands_of_expired_payloads_small_and_chunked_and_keeps_the_live_ones()
    {
        var expired = await Task.WhenAll(Enumerable.Range(0, 2_500).Select(i => SaveAsync(i % 500 == 0 ? new byte[100_000] : [(byte)i], ttl: TimeSpan.FromMinutes(1))));
        var live = await SaveAsync(new byte[100_000], ttl: TimeSpan.FromHours(1));

        Assert.Equal(2_500, await Store.SweepAsync(Now.AddMinutes(2), KeepEverything, default));

        foreach (var gone in new[] { expired[0], expired[1], expired[^1] })
        {
            Assert.Null(await Store.GetPayloadAsync(Workspace, gone.Id, Now, default));
        }

        await using var content = await Store.OpenPayloadAsync(Workspace, live.Id, Now, default);
        Assert.Equal(100_000, (await ReadAllAsync(content!.Content)).Length);
        Assert.Equal(0, await Store.SweepAsync(Now.AddMinutes(2), KeepEverything, default));
    }

    [Fact]
    public async Task A_payload_is_invisible_to_other_workspaces()
    {
        var record = await SaveAsync([7, 7, 7]);
        var other = NewName("other");

        Assert.Null(await Store.GetPayloadAsync(other, record.Id, Now, default));
        Assert.Null(await Store.OpenPayloadAsync(other, record.Id, Now, default));
        Assert.False(await Store.DeletePayloadAsync(other, record.Id, default));
        Assert.Equal(0, await Store.GetStoredBytesAsync(other, default));
        Assert.NotNull(await Store.GetPayloadAsync(Workspace, record.Id, Now, default));
    }

    [Fact]
    public async Task Delete_removes_the_payload_once()
    {
        var record = await SaveAsync(RandomNumberGenerator.GetBytes(1_500_000));

        Assert.True(await Store.DeletePayloadAsync(Workspace, record.Id, default));
        Assert.Null(await Store.GetPayloadAsync(Workspace, record.Id, Now, default));
        Assert.Null(await Store.OpenPayloadAsync(Workspace, record.Id, Now, default));
        Assert.False(await Store.DeletePayloadAsync(Workspace, record.Id, default));
        Assert.False(await Store.DeletePayloadAsync(Workspace, "no-such-id", default));
    }

    [Fact]
    public async Task Stored_bytes_count_the_live_payloads_of_the_workspace()
    {
        Assert.Equal(0, await Store.GetStoredBytesAsync(Workspace, default));
        var small = await SaveAsync(new byte[1000]);
        await SaveAsync(new byte[3000], ttl: TimeSpan.FromHours(1));
        await SaveAsync(new byte[500], workspace: NewName("other"));
        Assert.Equal(4000, await Store.GetStoredBytesAsync(Workspace, default));

        Assert.True(await Store.DeletePayloadAsync(Workspace, small.Id, default));
        Assert.Equal(3000, await Store.GetStoredBytesAsync(Workspace, default));

        await SaveAsync(new byte[200], ttl: TimeSpan.FromMinutes(-1)); // expired on arrival
        Assert.Equal(3000, await Store.GetStoredBytesAsync(Workspace, default));

        await Store.SweepAsync(Now.AddHours(2), KeepEverything, default);
        Assert.Equal(0, await Store.GetStoredBytesAsync(Workspace, default));
    }

    [Fact]
    public async Task A_payload_that_expired_before_it_arrived_is_saved_without_error_and_never_found()
    {
        // Long past: its chunks' own expiry (a grace after the payload's) is past too when they are written.
        var expired = await SaveAsync(new byte[300_000], ttl: TimeSpan.FromHours(-1));
        Assert.Null(await Store.GetPayloadAsync(Workspace, expired.Id, Now, default));
        Assert.Null(await Store.OpenPayloadAsync(Workspace, expired.Id, Now, default));
        Assert.Equal(0, await Store.GetStoredBytesAsync(Workspace, default));
    }

    // ---- channel events ---------------------------------------------------------------------------

    [Fact]
    public async Task Appended_events_get_seq_1_to_n_and_read_back_in_order_with_their_fields()
    {
        var channel = NewName("ch");
        var before = Now.AddSeconds(-30);
        var appended = new List<ChannelEvent>
        {
            await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Push, """{"k":"v"}""", PayloadId: "p-1", Url: "http://relay/pull/p-1"), default),
            await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "héllo ✓"), default),
            await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, """{"n":3}""", Data: string.Empty), default),
        };

        Assert.Equal([1L, 2L, 3L], appended.Select(e => e.Seq));
        Assert.All(appended, e => Assert.Equal(channel, e.Channel));
        Assert.All(appended, e => Assert.InRange(e.Timestamp, before, Now.AddSeconds(30)));
        Assert.Equal(ChannelEventType.Push, appended[0].Type);
        Assert.Equal("p-1", appended[0].PayloadId);
        Assert.Equal("héllo ✓", appended[1].Data);
        Assert.Equal(appended, await Store.ReadEventsAsync(Workspace, channel, 0, 100, default));
    }

    [Fact]
    public async Task Reading_events_starts_after_the_given_seq_and_honours_the_limit()
    {
        var channel = NewName("ch");
        await AppendMessagesAsync(channel, 10);

        Assert.Equal([4L, 5L, 6L, 7L], (await Store.ReadEventsAsync(Workspace, channel, 3, 4, default)).Select(e => e.Seq));
        Assert.Equal(10, (await Store.ReadEventsAsync(Workspace, channel, 0, 100, default)).Count);
        Assert.Empty(await Store.ReadEventsAsync(Workspace, channel, 10, 100, default));
        Assert.Empty(await Store.ReadEventsAsync(Workspace, NewName("never-used"), 0, 100, default));
    }

    [Fact]
    public async Task The_same_channel_name_in_two_workspaces_is_two_channels()
    {
        var channel = NewName("ch");
        var other = NewName("other");
        await AppendMessagesAsync(channel, 3);
        var theirs = await Store.AppendEventAsync(other, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "theirs"), default);

        Assert.Equal(1, theirs.Seq);
        Assert.Equal(["theirs"], (await Store.ReadEventsAsync(other, channel, 0, 100, default)).Select(e => e.Data));
        Assert.Equal(["m1", "m2", "m3"], (await Store.ReadEventsAsync(Workspace, channel, 0, 100, default)).Select(e => e.Data));
    }

    [Fact]
    public async Task Retention_by_count_keeps_the_newest_events_and_seq_goes_on()
    {
        var channel = NewName("ch");
        await AppendMessagesAsync(channel, 10);

        await Store.SweepAsync(Now, new ChannelRetention(3, TimeSpan.FromDays(1)), default);

        Assert.Equal([8L, 9L, 10L], (await Store.ReadEventsAsync(Workspace, channel, 0, 100, default)).Select(e => e.Seq));
        var next = await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "m11"), default);
        Assert.Equal(11, next.Seq);
    }

    [Fact]
    public async Task Retention_by_count_trims_every_channel_of_every_workspace_even_by_thousands()
    {
        string[] channels = [NewName("a"), NewName("b"), NewName("c")];
        var other = NewName("other");
        await Task.WhenAll(channels.SelectMany(channel => Enumerable.Range(0, 1_100).Select(_ =>
            Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "m"), default))));
        await Task.WhenAll(Enumerable.Range(0, 60).Select(_ =>
            Store.AppendEventAsync(other, channels[0], new NewChannelEvent(ChannelEventType.Message, "{}", Data: "m"), default)));

        await Store.SweepAsync(Now, new ChannelRetention(50, TimeSpan.FromDays(1)), default);

        foreach (var channel in channels)
        {
            Assert.Equal(Enumerable.Range(1_051, 50).Select(seq => (long)seq), (await Store.ReadEventsAsync(Workspace, channel, 0, 2_000, default)).Select(e => e.Seq));
        }

        Assert.Equal(Enumerable.Range(11, 50).Select(seq => (long)seq), (await Store.ReadEventsAsync(other, channels[0], 0, 2_000, default)).Select(e => e.Seq));
    }

    [Fact]
    public async Task Retention_by_age_drops_old_events_and_seq_goes_on()
    {
        var channel = NewName("ch");
        await AppendMessagesAsync(channel, 3);
        var retention = new ChannelRetention(1000, TimeSpan.FromHours(1));

        await Store.SweepAsync(Now, retention, default);
        Assert.Equal(3, (await Store.ReadEventsAsync(Workspace, channel, 0, 100, default)).Count);

        await Store.SweepAsync(Now.AddHours(2), retention, default);
        Assert.Empty(await Store.ReadEventsAsync(Workspace, channel, 0, 100, default));
        var next = await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "m4"), default);
        Assert.Equal(4, next.Seq);
    }

    [Fact]
    public async Task A_subscriber_receives_concurrently_appended_events_in_seq_order()
    {
        var channel = NewName("ch");
        var received = new Collector(30);
        await using (await Store.SubscribeAsync(Workspace, channel, received.Add, default))
        {
            var appends = Enumerable.Range(1, 30)
                .Select(i => Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: $"m{i}"), default));
            var appended = await Task.WhenAll(appends);

            var events = await Wait.For(received.Completed, "30 live events");
            Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), events.Select(e => e.Seq));
            Assert.Equal(appended.OrderBy(e => e.Seq), events);
        }
    }

    [Fact]
    public async Task A_subscriber_gets_nothing_after_it_is_disposed()
    {
        var channel = NewName("ch");
        var first = new Collector(1);
        var second = new Collector(2);
        var firstSubscription = await Store.SubscribeAsync(Workspace, channel, first.Add, default);
        await using var secondSubscription = await Store.SubscribeAsync(Workspace, channel, second.Add, default);
        await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "both"), default);
        await Wait.For(first.Completed, "the first event at the first subscriber");

        await firstSubscription.DisposeAsync();
        await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "second only"), default);

        // Both are fed in order by the same path: once the second has the event, the first would have had it.
        Assert.Equal(["both", "second only"], (await Wait.For(second.Completed, "two events at the second subscriber")).Select(e => e.Data));
        Assert.Equal(["both"], first.Snapshot().Select(e => e.Data));
    }

    [Fact]
    public async Task A_subscriber_sees_only_its_channel_in_its_workspace()
    {
        var channel = NewName("ch");
        var received = new Collector(1);
        await using var subscription = await Store.SubscribeAsync(Workspace, channel, received.Add, default);

        await Store.AppendEventAsync(NewName("other"), channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "other workspace"), default);
        await Store.AppendEventAsync(Workspace, NewName("ch"), new NewChannelEvent(ChannelEventType.Message, "{}", Data: "other channel"), default);
        await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "mine"), default);

        Assert.Equal(["mine"], (await Wait.For(received.Completed, "the event of the subscribed channel")).Select(e => e.Data));
    }

    [Fact]
    public async Task Subscribing_again_after_everyone_left_works()
    {
        var channel = NewName("ch");
        await (await Store.SubscribeAsync(Workspace, channel, _ => ValueTask.CompletedTask, default)).DisposeAsync();
        await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "while nobody listens"), default);

        var received = new Collector(1);
        await using var subscription = await Store.SubscribeAsync(Workspace, channel, received.Add, default);
        await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "back"), default);

        var events = await Wait.For(received.Completed, "the event after resubscribing");
        Assert.Equal("back", events[0].Data);
        Assert.Equal(2, events[0].Seq);
    }

    [Fact]
    public async Task A_payload_saved_with_its_push_event_is_stored_with_it_and_the_event_goes_live()
    {
        var channel = NewName("ch");
        var collector = new Collector(1);
        await using var subscription = await Store.SubscribeAsync(Workspace, channel, collector.Add, default);
        var record = NewRecord(channel, size: 5);

        using var content = new MemoryStream("hello"u8.ToArray());
        var appended = await Store.SavePayloadAsync(record, content, new NewChannelEvent(ChannelEventType.Push, "{}", PayloadId: record.Id, Url: "http://relay/pull/" + record.Id), default);

        Assert.NotNull(appended);
        Assert.Equal(1, appended.Seq);
        Assert.Equal(record.Id, appended.PayloadId);
        var live = Assert.Single(await collector.Completed.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((1L, record.Id), (live.Seq, live.PayloadId));
        Assert.Equal(record.Id, Assert.Single(await Store.ReadEventsAsync(Workspace, channel, 0, 10, default)).PayloadId);
        Assert.NotNull(await Store.GetPayloadAsync(Workspace, record.Id, Now, default));
    }

    [Fact]
    public async Task Push_events_keep_their_payload_size_live_and_in_history_and_events_without_one_have_none()
    {
        var channel = NewName("ch");
        var collector = new Collector(3);
        await using var subscription = await Store.SubscribeAsync(Workspace, channel, collector.Add, default);
        var record = NewRecord(channel, size: 5);

        using var content = new MemoryStream("hello"u8.ToArray());
        var saved = await Store.SavePayloadAsync(record, content, new NewChannelEvent(ChannelEventType.Push, "{}", PayloadId: record.Id, Url: "http://relay/pull/" + record.Id, Size: 5), default);
        var appended = await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Push, "{}", PayloadId: "p-2", Url: "http://relay/pull/p-2", Size: 3_000_000_000), default);
        var message = await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "no size"), default);

        Assert.Equal([5L, 3_000_000_000L, null], new[] { saved?.Size, appended.Size, message.Size });
        Assert.Equal([5L, 3_000_000_000L, null], (await collector.Completed.WaitAsync(TimeSpan.FromSeconds(10))).Select(e => e.Size));
        Assert.Equal([5L, 3_000_000_000L, null], (await Store.ReadEventsAsync(Workspace, channel, 0, 10, default)).Select(e => e.Size));
    }

    [Fact]
    public async Task A_push_that_fails_midway_stores_neither_the_payload_nor_its_event()
    {
        var channel = NewName("ch");
        var record = NewRecord(channel, size: 3 * 1024 * 1024);
        using var failing = new FailingStream(failAfter: (int)(1.5 * 1024 * 1024));

        await Assert.ThrowsAsync<IOException>(() => Store.SavePayloadAsync(record, failing, new NewChannelEvent(ChannelEventType.Push, "{}", PayloadId: record.Id, Url: "u"), default));

        Assert.Null(await Store.GetPayloadAsync(Workspace, record.Id, Now, default));
        Assert.Empty(await Store.ReadEventsAsync(Workspace, channel, 0, 10, default));
        var next = NewRecord(channel, size: 1);
        using var content = new MemoryStream([1]);
        var appended = await Store.SavePayloadAsync(next, content, new NewChannelEvent(ChannelEventType.Push, "{}", PayloadId: next.Id, Url: "u"), default);
        Assert.Equal(1, appended!.Seq); // the failed push took no seq either
    }

    private PayloadRecord NewRecord(string channel, long size) => new()
    {
        Workspace = Workspace,
        Id = Guid.NewGuid().ToString(),
        Channel = channel,
        MetadataJson = "{}",
        ContentType = "text/plain",
        Size = size,
        ETag = "e",
        CreatedAt = Now,
        ExpiresAt = Now.AddHours(1),
    };

    /// <summary>An upload whose connection breaks after some bytes.</summary>
    private sealed class FailingStream(int failAfter) : Stream
    {
        private int _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read >= failAfter)
            {
                throw new IOException("the client went away");
            }

            var n = Math.Min(count, failAfter - _read);
            Array.Fill(buffer, (byte)7, offset, n);
            _read += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // ---- keys -------------------------------------------------------------------------------------

    [Fact]
    public async Task Keys_can_be_created_found_listed_and_revoked()
    {
        var created = Now;
        var writer = NewKey(created, KeyScope.ReadWrite, "pro");
        var reader = NewKey(created.AddSeconds(1), KeyScope.ReadOnly, "default");
        await Store.CreateKeyAsync(writer, default);
        await Store.CreateKeyAsync(reader, default);

        AssertSameKey(writer, await Store.FindKeyAsync(writer.Hash, default));
        AssertSameKey(reader, await Store.FindKeyAsync([.. reader.Hash], default));
        Assert.Null(await Store.FindKeyAsync(SHA256.HashData("unknown"u8), default));

        var listed = (await Store.ListKeysAsync(default)).Where(k => k.Workspace == Workspace).ToList();
        Assert.Equal([writer.Id, reader.Id], listed.Select(k => k.Id));
        AssertSameKey(reader, listed[1]);

        var revokedAt = Now.AddMinutes(1);
        Assert.True(await Store.RevokeKeyAsync(writer.Id, revokedAt, default));
        Assert.Equal(revokedAt, (await Store.FindKeyAsync(writer.Hash, default))!.RevokedAt);
        Assert.True(await Store.RevokeKeyAsync(writer.Id, revokedAt.AddMinutes(5), default));
        Assert.Equal(revokedAt, (await Store.FindKeyAsync(writer.Hash, default))!.RevokedAt); // the first revocation counts
        Assert.Null((await Store.FindKeyAsync(reader.Hash, default))!.RevokedAt);
        Assert.False(await Store.RevokeKeyAsync("no-such-key", revokedAt, default));
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /// <summary>Now, to the millisecond (what the engines store).</summary>
    protected static DateTimeOffset Now => DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    protected static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private protected async Task<PayloadRecord> SaveAsync(
        byte[] data,
        string? workspace = null,
        TimeSpan? ttl = null,
        string? channel = null,
        bool encrypted = false,
        string metadataJson = "{}",
        string contentType = "application/octet-stream",
        EnvelopeShape shape = EnvelopeShape.None)
    {
        var now = Now;
        var record = new PayloadRecord
        {
            Workspace = workspace ?? Workspace,
            Id = Guid.NewGuid().ToString(),
            Channel = channel,
            MetadataJson = metadataJson,
            ContentType = contentType,
            Size = data.Length,
            ETag = Convert.ToBase64String(SHA256.HashData(data)),
            Encrypted = encrypted,
            Shape = shape,
            CreatedAt = now,
            ExpiresAt = now + (ttl ?? TimeSpan.FromHours(1)),
        };
        using var content = new MemoryStream(data, writable: false);
        await Store.SavePayloadAsync(record, content, default);
        return record;
    }

    private protected async Task AppendMessagesAsync(string channel, int count)
    {
        for (var i = 1; i <= count; i++)
        {
            await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: $"m{i}"), default);
        }
    }

    protected static async Task<byte[]> ReadAllAsync(Stream content)
    {
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        return copy.ToArray();
    }

    private protected static async Task<byte[]> ReadInSmallPiecesAsync(Stream content, int pieceSize)
    {
        using var copy = new MemoryStream();
        var buffer = new byte[pieceSize];
        int read;
        while ((read = await content.ReadAsync(buffer)) > 0)
        {
            copy.Write(buffer, 0, read);
        }

        return copy.ToArray();
    }

    private ApiKeyRecord NewKey(DateTimeOffset created, KeyScope scope, string plan)
    {
        var secret = "cr_live_" + Guid.NewGuid().ToString("N");
        return new ApiKeyRecord
        {
            Id = NewName("key"),
            Workspace = Workspace,
            Hash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)),
            Prefix = secret[..12],
            Plan = plan,
            Scope = scope,
            CreatedAt = created,
        };
    }

    private static void AssertSameKey(ApiKeyRecord expected, ApiKeyRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { Hash = actual.Hash }, actual);
        Assert.Equal(expected.Hash, actual.Hash);
    }

    /// <summary>Collects live events; completes once it has the expected number.</summary>
    private protected sealed class Collector(int expected)
    {
        private readonly List<ChannelEvent> _events = [];
        private readonly TaskCompletionSource<IReadOnlyList<ChannelEvent>> _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<IReadOnlyList<ChannelEvent>> Completed => _completed.Task;

        public ValueTask Add(ChannelEvent channelEvent)
        {
            lock (_events)
            {
                _events.Add(channelEvent);
                if (_events.Count == expected)
                {
                    _completed.TrySetResult([.. _events]);
                }
            }

            return ValueTask.CompletedTask;
        }

        public IReadOnlyList<ChannelEvent> Snapshot()
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }
}
