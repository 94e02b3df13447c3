using System.Buffers;
using System.Text;
using System.Text.Json;

namespace CtxRelay.Relay.Internal;

/// <summary>
/// Reads the JSON push envelope <c>{"data": "…", "channel"?: …, "metadata"?: {…}, …}</c> the hosted
/// product's SDKs send, as it streams in: the <c>data</c> string is unescaped straight into a
/// <see cref="PayloadSpool"/> (memory, then a temp file), so a 25 MB envelope never sits in memory; the
/// other members are small and kept as raw JSON for the caller to validate. Anything that is not a
/// well-formed object of that shape is a <see cref="JsonEnvelopeException"/> saying what is wrong.
/// </summary>
internal sealed class JsonEnvelopeReader
{
    private const int BufferSize = 64 * 1024;
    private static readonly SearchValues<byte> StringSpecials = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    private readonly Stream _body;
    private readonly int _memberLimit;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _start;
    private int _end;
    private bool _eof;

    private JsonEnvelopeReader(Stream body, int memberLimit)
    {
        _body = body;
        _memberLimit = memberLimit;
    }

    /// <summary>
    /// Parses the envelope. <paramref name="dataLimit"/> bounds the unescaped data (PayloadTooLargeException);
    /// <paramref name="memberLimit"/> bounds each other member's JSON.
    /// </summary>
    public static async Task<JsonEnvelope> ReadAsync(Stream body, long dataLimit, int memberLimit, string tempDirectory, CancellationToken cancellationToken)
    {
        var reader = new JsonEnvelopeReader(body, memberLimit);
        PayloadSpool? data = null;
        try
        {
            var members = new Dictionary<string, string>(StringComparer.Ordinal);
            await reader.ExpectAsync((byte)'{', "The JSON body must be an object: {\"data\": \"…\", \"channel\"?: \"…\", \"metadata\"?: {…}}.", cancellationToken).ConfigureAwait(false);
            var next = await reader.PeekTokenAsync(cancellationToken).ConfigureAwait(false);
            while (next != '}')
            {
                var name = await reader.ReadNameAsync(cancellationToken).ConfigureAwait(false);
                await reader.ExpectAsync((byte)':', "Expected ':' after a member name.", cancellationToken).ConfigureAwait(false);
                if (name == "data")
                {
                    if (data is not null)
                    {
                        throw new JsonEnvelopeException("'data' appears twice in the envelope.");
                    }

                    if (await reader.PeekTokenAsync(cancellationToken).ConfigureAwait(false) != '"')
                    {
                        throw new JsonEnvelopeException("'data' is required and must be a string (the payload text).");
                    }

                    reader._start++;
                    data = await reader.ReadDataAsync(dataLimit, tempDirectory, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    members[name] = await reader.ReadRawValueAsync(name, cancellationToken).ConfigureAwait(false);
                }

                next = await reader.PeekTokenAsync(cancellationToken).ConfigureAwait(false);
                if (next == ',')
                {
                    reader._start++;
                    next = await reader.PeekTokenAsync(cancellationToken).ConfigureAwait(false);
                    if (next == '}')
                    {
                        throw new JsonEnvelopeException("A trailing ',' before '}' is not JSON.");
                    }
                }
                else if (next != '}')
                {
                    throw new JsonEnvelopeException("Not valid JSON: expected ',' or '}' after a member of the envelope.");
                }
            }

            reader._start++; // the closing brace
            if (await reader.PeekTokenAsync(cancellationToken, allowEnd: true) != -1)
            {
                throw new JsonEnvelopeException("Not valid JSON: unexpected content after the envelope.");
            }

            if (data is null)
            {
                throw new JsonEnvelopeException("'data' is required and must be a string (the payload text).");
            }

            var envelope = new JsonEnvelope(data, members);
            foreach (var name in members.Keys)
            {
                envelope.Member(name); // the whole body must be valid JSON, unknown members included
            }

            return envelope;
        }
        catch
        {
            if (data is not null)
            {
                await data.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(reader._buffer);
        }
    }

    /// <summary>Makes at least <paramref name="count"/> bytes available from _start; false at the end of the body.</summary>
    private async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            if (_eof)
            {
                return false;
            }

            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                _buffer.AsSpan(0, _end).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = larger;
            }

            var read = await _body.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
            }

            _end += read;
        }

        return true;
    }

    /// <summary>Skips whitespace and returns the next byte without consuming it (-1 at the end when allowed).</summary>
    private async ValueTask<int> PeekTokenAsync(CancellationToken cancellationToken, bool allowEnd = false)
    {
        while (true)
        {
            if (!await FillAsync(1, cancellationToken).ConfigureAwait(false))
            {
                return allowEnd ? -1 : throw new JsonEnvelopeException("Not valid JSON: the body ends too early.");
            }

            var skip = _buffer.AsSpan(_start, _end - _start).IndexOfAnyExcept(" \t\r\n"u8);
            if (skip >= 0)
            {
                _start += skip;
                return _buffer[_start];
            }

            _start = _end;
        }
    }

    private async ValueTask ExpectAsync(byte expected, string error, CancellationToken cancellationToken)
    {
        if (await PeekTokenAsync(cancellationToken).ConfigureAwait(false) != expected)
        {
            throw new JsonEnvelopeException(error);
        }

        _start++;
    }

    /// <summary>A member name (short: it must fit in the member limit), unescaped.</summary>
    private async ValueTask<string> ReadNameAsync(CancellationToken cancellationToken)
    {
        if (await PeekTokenAsync(cancellationToken).ConfigureAwait(false) != '"')
        {
            throw new JsonEnvelopeException("Not valid JSON: expected a member name in double quotes.");
        }

        var raw = await ReadRawValueAsync("a member name", cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize<string>(raw)!;
        }
        catch (JsonException)
        {
            throw new JsonEnvelopeException("A member name of the envelope is not a valid JSON string.");
        }
    }

    /// <summary>The data string, unescaped into a spool; the opening quote is already consumed.</summary>
    private async Task<PayloadSpool> ReadDataAsync(long limit, string tempDirectory, CancellationToken cancellationToken)
    {
        var writer = new PayloadSpool.Writer(limit, tempDirectory);
        var output = new ArrayBufferWriter<byte>(BufferSize);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetDecoder();
        var chars = ArrayPool<char>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                if (!await FillAsync(1, cancellationToken).ConfigureAwait(false))
                {
                    throw new JsonEnvelopeException("The JSON body ends inside the 'data' string.");
                }

                var span = _buffer.AsSpan(_start, _end - _start);
                var special = span.IndexOfAny(StringSpecials);
                var run = special < 0 ? span : span[..special];
                Validate(utf8, run, chars);
                output.Write(run);
                _start += run.Length;
                if (special >= 0)
                {
                    var b = span[special];
                    if (b == '"')
                    {
                        _start++;
                        Validate(utf8, [], chars, final: true);
                        await writer.AppendAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
                        return writer.Complete();
                    }

                    if (b < 0x20)
                    {
                        throw new JsonEnvelopeException("'data' contains a raw control character; JSON strings escape them (\\n, \\u0001).");
                    }

                    var before = output.WrittenCount;
                    await UnescapeAsync(output, cancellationToken).ConfigureAwait(false);
                    Validate(utf8, output.WrittenSpan[before..], chars); // keeps the decoder's state honest across escapes
                }

                if (output.WrittenCount >= BufferSize)
                {
                    await writer.AppendAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
                    output.ResetWrittenCount();
                }
            }
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private static void Validate(Decoder utf8, ReadOnlySpan<byte> bytes, char[] chars, bool final = false)
    {
        try
        {
            bool completed;
            do
            {
                utf8.Convert(bytes, chars, final, out var used, out _, out completed);
                bytes = bytes[used..];
            }
            while (!completed);
        }
        catch (DecoderFallbackException)
        {
            throw new JsonEnvelopeException("'data' is not valid UTF-8 text.");
        }
    }

    /// <summary>One escape sequence at _start (the backslash), appended as UTF-8.</summary>
    private async ValueTask UnescapeAsync(ArrayBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        if (!await FillAsync(2, cancellationToken).ConfigureAwait(false))
        {
            throw new JsonEnvelopeException("The JSON body ends inside an escape sequence.");
        }

        var kind = _buffer[_start + 1];
        if (kind != 'u')
        {
            output.Write([kind switch
            {
                (byte)'"' => (byte)'"',
                (byte)'\\' => (byte)'\\',
                (byte)'/' => (byte)'/',
                (byte)'b' => (byte)'\b',
                (byte)'f' => (byte)'\f',
                (byte)'n' => (byte)'\n',
                (byte)'r' => (byte)'\r',
                (byte)'t' => (byte)'\t',
                _ => throw new JsonEnvelopeException($"'\\{(char)kind}' is not a JSON escape sequence."),
            }]);
            _start += 2;
            return;
        }

        var code = await ReadHexAsync(cancellationToken).ConfigureAwait(false);
        if (char.IsHighSurrogate((char)code))
        {
            if (!await FillAsync(2, cancellationToken).ConfigureAwait(false) || _buffer[_start] != '\\' || _buffer[_start + 1] != 'u')
            {
                throw new JsonEnvelopeException("'data' has a lone surrogate escape (\\uD800–\\uDBFF must be followed by \\uDC00–\\uDFFF).");
            }

            var low = await ReadHexAsync(cancellationToken).ConfigureAwait(false);
            if (!char.IsLowSurrogate((char)low))
            {
                throw new JsonEnvelopeException("'data' has a lone surrogate escape (\\uD800–\\uDBFF must be followed by \\uDC00–\\uDFFF).");
            }

            code = char.ConvertToUtf32((char)code, (char)low);
        }
        else if (char.IsLowSurrogate((char)code))
        {
            throw new JsonEnvelopeException("'data' has a lone surrogate escape (\\uDC00–\\uDFFF without a high surrogate before it).");
        }

        var span = output.GetSpan(4);
        output.Advance(new Rune(code).EncodeToUtf8(span));
    }

    /// <summary>Reads <c>\uXXXX</c> at _start.</summary>
    private async ValueTask<int> ReadHexAsync(CancellationToken cancellationToken)
    {
        if (!await FillAsync(6, cancellationToken).ConfigureAwait(false)
            || !int.TryParse(_buffer.AsSpan(_start + 2, 4), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var code))
        {
            throw new JsonEnvelopeException("A \\u escape needs four hexadecimal digits.");
        }

        _start += 6;
        return code;
    }

    /// <summary>
    /// The raw JSON text of one value (string, number, literal, object or array), at most the member limit;
    /// its validity is checked by whoever parses it. Only the nesting and strings are followed here.
    /// </summary>
    private async ValueTask<string> ReadRawValueAsync(string name, CancellationToken cancellationToken)
    {
        await PeekTokenAsync(cancellationToken).ConfigureAwait(false);
        var raw = new ArrayBufferWriter<byte>(256);
        var depth = 0;
        var inString = false;
        var escaped = false;
        while (true)
        {
            if (!await FillAsync(1, cancellationToken).ConfigureAwait(false))
            {
                if (depth == 0 && !inString && raw.WrittenCount > 0)
                {
                    break; // a number or literal at the very end: the caller reports the missing '}'
                }

                throw new JsonEnvelopeException("Not valid JSON: the body ends too early.");
            }

            var b = _buffer[_start];
            if (!inString && depth == 0 && raw.WrittenCount > 0 && (b is (byte)',' or (byte)'}' or (byte)']' or (byte)':' || b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                break; // the end of a number or literal
            }

            _start++;
            raw.Write([b]);
            if (raw.WrittenCount > _memberLimit)
            {
                throw new JsonEnvelopeException($"The envelope's '{name}' is larger than {_memberLimit:N0} bytes; put large content in 'data'.");
            }

            if (inString)
            {
                if (escaped)
                {
                    escaped = false;
                }
                else if (b == '\\')
                {
                    escaped = true;
                }
                else if (b == '"')
                {
                    inString = false;
                    if (depth == 0)
                    {
                        break;
                    }
                }
            }
            else if (b == '"')
            {
                inString = true;
            }
            else if (b is (byte)'{' or (byte)'[')
            {
                depth++;
            }
            else if (b is (byte)'}' or (byte)']')
            {
                if (--depth == 0)
                {
                    break;
                }
            }
        }

        return Encoding.UTF8.GetString(raw.WrittenSpan);
    }
}

/// <summary>A parsed envelope: the spooled data, and every other member's raw JSON by name (the last of duplicates).</summary>
internal sealed record JsonEnvelope(PayloadSpool Data, IReadOnlyDictionary<string, string> Members)
{
    /// <summary>A member's value as a JSON element (null when absent or null); invalid JSON is a <see cref="JsonEnvelopeException"/>.</summary>
    public JsonElement? Member(string name)
    {
        if (!Members.TryGetValue(name, out var raw))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(raw);
            return document.RootElement.ValueKind == JsonValueKind.Null ? null : document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new JsonEnvelopeException($"The envelope's '{name}' is not valid JSON ({ex.Message}).");
        }
    }
}

/// <summary>A JSON push body the relay refuses with 400; the message says what is wrong.</summary>
internal sealed class JsonEnvelopeException(string message) : Exception(message);
