using System.Diagnostics;
using CtxRelay.Relay.Internal;

namespace CtxRelay.Relay.Storage;

/// <summary>
/// Wraps the configured engine so every storage operation is timed (<c>contextrelay.storage.duration</c>,
/// tagged with the operation and the engine) and traced as a child span of the request. Nothing else changes.
/// </summary>
internal sealed class InstrumentedRelayStore(IRelayStore inner, RelayTelemetry telemetry, string engine) : IRelayStore
{
    public IRelayStore Inner => inner;

    public Task InitializeAsync(CancellationToken cancellationToken)
        => Timed("initialize", () => inner.InitializeAsync(cancellationToken));

    public Task<ChannelEvent?> SavePayloadAsync(PayloadRecord payload, Stream content, NewChannelEvent? channelEvent, CancellationToken cancellationToken)
        => Timed("save_payload", () => inner.SavePayloadAsync(payload, content, channelEvent, cancellationToken));

    public Task<PayloadRecord?> GetPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken)
        => Timed("get_payload", () => inner.GetPayloadAsync(workspace, id, now, cancellationToken));

    public Task<PayloadContent?> OpenPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken)
        => Timed("open_payload", () => inner.OpenPayloadAsync(workspace, id, now, cancellationToken));

    public Task<bool> DeletePayloadAsync(string workspace, string id, CancellationToken cancellationToken)
        => Timed("delete_payload", () => inner.DeletePayloadAsync(workspace, id, cancellationToken));

    public Task<long> GetStoredBytesAsync(string workspace, CancellationToken cancellationToken)
        => Timed("stored_bytes", () => inner.GetStoredBytesAsync(workspace, cancellationToken));

    public Task<int> SweepAsync(DateTimeOffset now, ChannelRetention retention, CancellationToken cancellationToken)
        => Timed("sweep", () => inner.SweepAsync(now, retention, cancellationToken));

    public Task<ChannelEvent> AppendEventAsync(string workspace, string channel, NewChannelEvent channelEvent, CancellationToken cancellationToken)
        => Timed("append_event", () => inner.AppendEventAsync(workspace, channel, channelEvent, cancellationToken));

    public Task<IReadOnlyList<ChannelEvent>> ReadEventsAsync(string workspace, string channel, long afterSeq, int limit, CancellationToken cancellationToken)
        => Timed("read_events", () => inner.ReadEventsAsync(workspace, channel, afterSeq, limit, cancellationToken));

    public Task<IAsyncDisposable> SubscribeAsync(string workspace, string channel, Func<ChannelEvent, ValueTask> onEvent, CancellationToken cancellationToken)
        => Timed("subscribe", () => inner.SubscribeAsync(workspace, channel, onEvent, cancellationToken));

    public Task JoinGroupAsync(string workspace, string channel, string group, long? since, CancellationToken cancellationToken)
        => Timed("join_group", () => inner.JoinGroupAsync(workspace, channel, group, since, cancellationToken));

    public Task<GroupClaim?> ClaimGroupEventAsync(string workspace, string channel, string group, string member, DateTimeOffset now, TimeSpan ackTimeout, CancellationToken cancellationToken)
        => Timed("claim_group_event", () => inner.ClaimGroupEventAsync(workspace, channel, group, member, now, ackTimeout, cancellationToken));

    public Task<bool> AckGroupEventAsync(string workspace, string channel, string group, string member, long seq, CancellationToken cancellationToken)
        => Timed("ack_group_event", () => inner.AckGroupEventAsync(workspace, channel, group, member, seq, cancellationToken));

    public Task ReleaseGroupMemberAsync(string workspace, string channel, string group, string member, CancellationToken cancellationToken)
        => Timed("release_group_member", () => inner.ReleaseGroupMemberAsync(workspace, channel, group, member, cancellationToken));

    public Task SeeGroupMemberAsync(string workspace, string channel, string group, string member, DateTimeOffset connectedAt, DateTimeOffset until, CancellationToken cancellationToken)
        => Timed("see_group_member", () => inner.SeeGroupMemberAsync(workspace, channel, group, member, connectedAt, until, cancellationToken));

    public Task<IReadOnlyList<GroupStatus>> ListGroupsAsync(string workspace, string channel, DateTimeOffset now, CancellationToken cancellationToken)
        => Timed("list_groups", () => inner.ListGroupsAsync(workspace, channel, now, cancellationToken));

    public Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
        => Timed("create_key", () => inner.CreateKeyAsync(key, cancellationToken));

    public Task<ApiKeyRecord?> FindKeyAsync(byte[] hash, CancellationToken cancellationToken)
        => Timed("find_key", () => inner.FindKeyAsync(hash, cancellationToken));

    public Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken)
        => Timed("list_keys", () => inner.ListKeysAsync(cancellationToken));

    public Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken)
        => Timed("revoke_key", () => inner.RevokeKeyAsync(keyId, now, cancellationToken));

    public Task<long> GetAccessRevisionAsync(CancellationToken cancellationToken)
        => Timed("access_revision", () => inner.GetAccessRevisionAsync(cancellationToken));

    public Task SetWorkspacePlanAsync(string workspace, string plan, CancellationToken cancellationToken)
        => Timed("set_plan", () => inner.SetWorkspacePlanAsync(workspace, plan, cancellationToken));

    public Task<string?> GetWorkspacePlanAsync(string workspace, CancellationToken cancellationToken)
        => Timed("get_plan", () => inner.GetWorkspacePlanAsync(workspace, cancellationToken));

    public Task<IReadOnlyDictionary<string, string>> ListWorkspacePlansAsync(CancellationToken cancellationToken)
        => Timed("list_plans", () => inner.ListWorkspacePlansAsync(cancellationToken));

    public Task<UsageGrant> ConsumeUsageAsync(UsageKey key, long limit, TimeSpan lifetime, CancellationToken cancellationToken)
        => Timed("consume_usage", () => inner.ConsumeUsageAsync(key, limit, lifetime, cancellationToken));

    public Task AddUsageAsync(IReadOnlyCollection<KeyValuePair<UsageKey, long>> amounts, TimeSpan lifetime, CancellationToken cancellationToken)
        => Timed("add_usage", () => inner.AddUsageAsync(amounts, lifetime, cancellationToken));

    public Task<IReadOnlyList<KeyValuePair<UsageKey, long>>> ReadUsageAsync(string period, string? workspace, CancellationToken cancellationToken)
        => Timed("read_usage", () => inner.ReadUsageAsync(period, workspace, cancellationToken));

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private async Task Timed(string operation, Func<Task> call)
        => await Timed(operation, async () =>
        {
            await call().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);

    private async Task<T> Timed<T>(string operation, Func<Task<T>> call)
    {
        using var activity = RelayTelemetry.Source.StartActivity("store " + operation, ActivityKind.Internal);
        activity?.SetTag("db.system", engine);
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
        finally
        {
            telemetry.StorageDuration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("operation", operation),
                new KeyValuePair<string, object?>("engine", engine));
        }
    }
}
