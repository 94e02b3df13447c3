using System.Buffers;
using System.Text;
using System.Text.Json;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;

namespace CtxRelay.Relay.Features;

/// <summary>
/// Compatibility with the hosted product's clients. The hosted relay stores every payload as
/// <c>{"data": "…", "metadata": {…}}</c> and returns that document from <c>GET /pull/{id}</c>; its Python SDK
/// therefore unwraps any pulled body that parses as a JSON object with a string <c>data</c> (and
/// <c>metadata</c> absent or an object). This relay returns payloads exactly as pushed, so a payload that is
/// itself such an object would lose everything but its <c>data</c> in those clients. Such envelope-shaped
/// payloads are recognised when pushed and, for clients that unwrap, served inside the envelope they take
/// apart — so every client gets back exactly what was pushed. The rule is in docs/protocol.md.
/// </summary>
internal static class HostedEnvelope
{
    public const string FormatHeader = "X-Relay-Format";
    public const string Raw = "raw";
    public const string Envelope = "envelope";

    private static readonly SearchValues<byte> NeedsEscape = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    /// <summary>
    /// True when <paramref name="text"/> is what the hosted clients unwrap: a JSON object whose last
    /// <c>data</c> member is a string and whose last <c>metadata</c> member, if any, is an object (Python's
    /// <c>json.loads</c> keeps the last of duplicate names). Leans to true when in doubt: a text Python could
    /// parse and .NET cannot (NaN, very deep nesting) counts if it has a string <c>data</c> at the top level,
    /// because wrapping a payload that would not have been unwrapped costs nothing — the client unwraps it.
    /// </summary>
    public static bool IsEnvelopeShaped(ReadOnlySpan<byte> text)
    {
        var start = text.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0 || text[start] != (byte)'{')
        {
            return false;
        }

        var dataIsString = false;
        var metadataIsObject = true; // absent counts as {}
        var reader = new Utf8JsonReader(text, new JsonReaderOptions { MaxDepth = 4096 });
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth != 1 || reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                var isData = reader.ValueTextEquals("data"u8);
                var isMetadata = !isData && reader.ValueTextEquals("metadata"u8);
                reader.Read();
                if (isData)
                {
                    dataIsString = reader.TokenType == JsonTokenType.String;
                }
                else if (isMetadata)
                {
                    metadataIsObject = reader.TokenType == JsonTokenType.StartObject;
                }

                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return dataIsString;
        }

        return dataIsString && metadataIsObject;
    }

    /// <summary>Classifies a spooled raw-body push; only texts that start with '{' are read whole.</summary>
    public static async Task<EnvelopeShape> ClassifyAsync(PayloadSpool spool, EnvelopeShape ifShaped, CancellationToken cancellationToken)
    {
        if (spool.Length is 0 or > int.MaxValue)
        {
            return EnvelopeShape.None;
        }

        var length = (int)spool.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(length, 4096));
        try
        {
            await using var content = spool.OpenRead();
            var read = await content.ReadAtLeastAsync(buffer, Math.Min(length, buffer.Length), throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var first = buffer.AsSpan(0, read).IndexOfAnyExcept(" \t\r\n"u8);
            if (first >= 0 && buffer[first] != (byte)'{')
            {
                return EnvelopeShape.None;
            }

            if (read < length)
            {
                var whole = ArrayPool<byte>.Shared.Rent(length);
                buffer.AsSpan(0, read).CopyTo(whole);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = whole;
                await content.ReadExactlyAsync(buffer.AsMemory(read, length - read), cancellationToken).ConfigureAwait(false);
            }

            return IsEnvelopeShaped(buffer.AsSpan(0, length)) ? ifShaped : EnvelopeShape.None;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Which representation a pull gets, first match wins: what the caller asked for
    /// (<c>?format=</c> or <c>X-Relay-Format</c>: <c>raw</c> | <c>envelope</c>); the bytes for a payload that is
    /// not envelope-shaped; the envelope for one pushed as a JSON envelope (as the hosted relay returns it);
    /// the envelope for a client that identifies as one of the hosted SDKs (<see cref="RelayOptions.EnvelopeUserAgents"/>);
    /// else the bytes.
    /// </summary>
    public static bool TryChoose(HttpRequest request, PayloadRecord record, RelayOptions relay, out bool envelope, out string? error)
    {
        error = null;
        var asked = request.Query["format"].FirstOrDefault() ?? request.Headers[FormatHeader].FirstOrDefault();
        if (!string.IsNullOrEmpty(asked))
        {
            envelope = asked.Equals(Envelope, StringComparison.OrdinalIgnoreCase);
            if (!envelope && !asked.Equals(Raw, StringComparison.OrdinalIgnoreCase))
            {
                error = $"'format' is '{Raw}' (the bytes as pushed) or '{Envelope}' (the hosted relay's {{\"data\", \"metadata\"}} document).";
            }

            return error is null;
        }

        var userAgent = request.Headers.UserAgent.ToString();
        envelope = record.Shape switch
        {
            EnvelopeShape.PushedAsJson => true,
            EnvelopeShape.PushedRaw => relay.EnvelopeUserAgents.Any(prefix => userAgent.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)),
            _ => false,
        };
        return true;
    }

    public static string ETag(PayloadRecord record) => $"\"{record.ETag}.envelope\"";

    /// <summary>Writes <c>{"data":"…","metadata":{…}}</c>, escaping the payload as it streams through.</summary>
    public static async Task WriteAsync(Stream payload, string metadataJson, Stream output, CancellationToken cancellationToken)
    {
        var input = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var escaped = new ArrayBufferWriter<byte>(128 * 1024);
        try
        {
            escaped.Write("{\"data\":\""u8);
            int read;
            while ((read = await payload.ReadAsync(input, cancellationToken).ConfigureAwait(false)) > 0)
            {
                Escape(input.AsSpan(0, read), escaped);
                await output.WriteAsync(escaped.WrittenMemory, cancellationToken).ConfigureAwait(false);
                escaped.ResetWrittenCount();
            }

            escaped.Write("\",\"metadata\":"u8);
            escaped.Write(Encoding.UTF8.GetBytes(metadataJson));
            escaped.Write("}"u8);
            await output.WriteAsync(escaped.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    /// <summary>
    /// JSON string escaping of UTF-8 bytes: quote, backslash and control characters; every other byte is
    /// copied, so a multi-byte character split between two reads stays intact.
    /// </summary>
    private static void Escape(ReadOnlySpan<byte> text, ArrayBufferWriter<byte> output)
    {
        while (!text.IsEmpty)
        {
            var next = text.IndexOfAny(NeedsEscape);
            var run = next < 0 ? text : text[..next];
            output.Write(run);
            if (next < 0)
            {
                return;
            }

            var b = text[next];
            output.Write(b switch
            {
                (byte)'"' => "\\\""u8,
                (byte)'\\' => "\\\\"u8,
                (byte)'\n' => "\\n"u8,
                (byte)'\r' => "\\r"u8,
                (byte)'\t' => "\\t"u8,
                _ => Encoding.ASCII.GetBytes($"\\u{b:x4}"),
            });
            text = text[(next + 1)..];
        }
    }
}
