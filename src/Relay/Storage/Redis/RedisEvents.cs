using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// Channel events as stored in the retained set and sent over pub/sub: <c>seq:ts:json</c>. The Lua
/// script prepends seq and ts (so they stay readable for age trimming); the JSON carries the rest.
/// </summary>
internal static class RedisEvents
{
    public static string EncodeBody(NewChannelEvent channelEvent)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("t", (int)channelEvent.Type);
            writer.WriteString("m", channelEvent.MetadataJson);
            WriteOptional(writer, "p", channelEvent.PayloadId);
            WriteOptional(writer, "u", channelEvent.Url);
            WriteOptional(writer, "d", channelEvent.Data);
            if (channelEvent.Size is { } size)
            {
                writer.WriteNumber("s", size);
            }
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Decodes a stored event; false for anything this engine did not write.</summary>
    public static bool TryDecode(string channel, string? member, out ChannelEvent channelEvent)
    {
        channelEvent = null!;
        if (member is null)
        {
            return false;
        }

        var first = member.IndexOf(':', StringComparison.Ordinal);
        var second = first < 0 ? -1 : member.IndexOf(':', first + 1);
        if (second < 0
            || !long.TryParse(member.AsSpan(0, first), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            || !long.TryParse(member.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ts))
        {
            return false;
        }

        var type = ChannelEventType.Message;
        string metadata = "{}";
        string? payloadId = null, url = null, data = null;
        long? size = null;
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(member, second + 1, member.Length - second - 1));
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "t":
                        type = (ChannelEventType)reader.GetInt32();
                        break;
                    case "m":
                        metadata = reader.GetString()!;
                        break;
                    case "p":
                        payloadId = reader.GetString();
                        break;
                    case "u":
                        url = reader.GetString();
                        break;
                    case "d":
                        data = reader.GetString();
                        break;
                    case "s":
                        size = reader.GetInt64();
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        channelEvent = new ChannelEvent(channel, seq, DateTimeOffset.FromUnixTimeMilliseconds(ts), type, metadata, payloadId, url, data, size);
        return true;
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
