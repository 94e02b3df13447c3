using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CtxRelay.Cli.Internal;

/// <summary>
/// The <c>--json</c> documents and the subscribe lines: snake_case like the wire protocol, every key
/// always present (null when it does not apply), one line each, so <c>jq</c> filters never break.
/// </summary>
internal static class JsonShapes
{
    private static readonly JsonSerializerOptions s_line = new()
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Line(JsonNode node) => node.ToJsonString(s_line);

    public static JsonObject Push(PushResult result, bool encrypted) => new()
    {
        ["url"] = result.Url,
        ["id"] = result.Id,
        ["channel"] = result.Channel,
        ["size"] = result.Size,
        ["encrypted"] = encrypted,
        ["expires_at"] = Time(result.ExpiresAt),
    };

    public static JsonObject Peek(PayloadInfo info) => new()
    {
        ["id"] = info.Id,
        ["size"] = info.Size,
        ["channel"] = info.Channel,
        ["encrypted"] = info.Encrypted,
        ["created_at"] = Time(info.CreatedAt),
        ["expires_at"] = Time(info.ExpiresAt),
        ["metadata"] = info.Metadata.DeepClone(),
    };

    public static JsonObject Published(string channel, long seq) => new()
    {
        ["channel"] = channel,
        ["seq"] = seq,
    };

    public static JsonObject History(string channel, IEnumerable<RelayEvent> events) => new()
    {
        ["channel"] = channel,
        ["events"] = new JsonArray([.. events.Select(e => (JsonNode)Event(e))]),
    };

    /// <summary>One channel event; <c>group</c> and <c>deliveries</c> are set for queue-group deliveries.</summary>
    public static JsonObject Event(RelayEvent relayEvent) => new()
    {
        ["type"] = relayEvent.Type == RelayEventType.Push ? "push" : "message",
        ["channel"] = relayEvent.Channel,
        ["seq"] = relayEvent.Seq,
        ["ts"] = relayEvent.Timestamp.ToUnixTimeMilliseconds(),
        ["id"] = relayEvent.Id,
        ["url"] = relayEvent.Url,
        ["data"] = relayEvent.Data,
        ["metadata"] = relayEvent.Metadata.DeepClone(),
        ["group"] = relayEvent.Group,
        ["deliveries"] = relayEvent.Group is null ? null : relayEvent.Deliveries,
    };

    private static string? Time(DateTimeOffset time) => time == default ? null : time.ToUniversalTime().ToString("O");
}
