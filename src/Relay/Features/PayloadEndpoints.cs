using System.Globalization;
using System.Text;
using System.Text.Json;
using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace CtxRelay.Relay.Features;

/// <summary>POST /push, GET|HEAD|DELETE /pull/{id}, GET /peek/{id}.</summary>
internal static class PayloadEndpoints
{
    public static void MapPayloads(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(string.Empty).RequireAuthorization();
        group.MapPost("/push", PushAsync).RequireAuthorization(ApiKeyAuthentication.WritePolicy).Metered(Metering.Pushes);
        group.MapMethods("/pull/{id}", [HttpMethods.Get, HttpMethods.Head], PullAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy).Metered(Metering.Pulls);
        group.MapDelete("/pull/{id}", DeleteAsync)
            .RequireAuthorization(ApiKeyAuthentication.WritePolicy)
            .RequireAuthorization(ApiKeyAuthentication.ReadPolicy)
            .Metered();
        group.MapGet("/peek/{id}", PeekAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy).Metered();
    }

    internal static async Task<Results<Ok<PushAnswer>, ProblemHttpResult>> PushAsync(
        HttpContext http,
        IRelayStore store,
        IOptions<RelayOptions> options,
        TimeProvider clock,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var relay = options.Value;
        var caller = Caller.From(http.User);
        var plan = relay.GetPlan(caller.Plan);
        var limit = Math.Min(relay.MaxPayloadBytes, plan.MaxPayloadBytes ?? long.MaxValue);
        var maxTtl = plan.MaxTtl is { } planTtl && planTtl < relay.MaxTtl ? planTtl : relay.MaxTtl;

        PushRequest request;
        try
        {
            request = IsJson(http.Request)
                ? await ReadJsonPushAsync(http, limit, maxTtl, relay, cancellationToken).ConfigureAwait(false)
                : await ReadRawPushAsync(http, limit, maxTtl, relay, cancellationToken).ConfigureAwait(false);
        }
        catch (PayloadTooLargeException)
        {
            return Problems.TooLarge(limit);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.TooLarge(limit);
        }
        catch (PushRejectedException ex)
        {
            return Problems.BadRequest(ex.Message);
        }
        catch (JsonEnvelopeException ex)
        {
            return Problems.BadRequest(ex.Message);
        }

        await using var content = request.Content;
        if (content.Length == 0)
        {
            return Problems.BadRequest("The payload is empty: send the text as 'data' (JSON) or as the request body.");
        }

        if (caller.ChannelRefusal(request.Channel) is { } refusal)
        {
            return Problems.Forbidden(refusal);
        }

        if (plan.MaxStoredBytes is { } quota)
        {
            var used = await store.GetStoredBytesAsync(caller.Workspace, cancellationToken).ConfigureAwait(false);
            if (used + content.Length > quota)
            {
                return Problems.StorageQuota(used, quota);
            }
        }

        var now = clock.GetUtcNow();
        var id = Guid.NewGuid().ToString();
        var record = new PayloadRecord
        {
            Workspace = caller.Workspace,
            Id = id,
            Channel = request.Channel,
            MetadataJson = request.MetadataJson,
            ContentType = request.ContentType,
            Size = content.Length,
            ETag = content.Hash,
            Encrypted = request.Encrypted,
            Shape = request.Shape,
            CreatedAt = now,
            ExpiresAt = now + request.Ttl,
        };
        var url = $"{Origin(http, relay)}/pull/{id}";
        var pushEvent = request.Channel is null ? null : new NewChannelEvent(ChannelEventType.Push, request.MetadataJson, PayloadId: id, Url: url, Size: content.Length);
        await using (var bytes = content.OpenRead())
        {
            await store.SavePayloadAsync(record, bytes, pushEvent, cancellationToken).ConfigureAwait(false); // payload and event: both or neither
        }

        Log.PayloadStored(loggers.CreateLogger("CtxRelay.Relay.Payloads"), id, record.Size, caller.Workspace);
        var telemetry = http.RequestServices.GetRequiredService<RelayTelemetry>();
        telemetry.Pushes.Add(1);
        telemetry.BytesIn.Add(record.Size);

        return TypedResults.Ok(new PushAnswer(url, id, request.Channel, record.ExpiresAt, record.Size));
    }

    private static async Task<IResult> PullAsync(string id, HttpContext http, IRelayStore store, IOptions<RelayOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!IsPayloadId(id))
        {
            return Problems.BadRequest(NotAnId);
        }

        var caller = Caller.From(http.User);
        if (HttpMethods.IsHead(http.Request.Method))
        {
            var record = await store.GetPayloadAsync(caller.Workspace, id, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            if (record is null)
            {
                return Problems.NotFound();
            }

            if (caller.ChannelRefusal(record.Channel) is { } refusal)
            {
                return Problems.Forbidden(refusal);
            }

            if (!HostedEnvelope.TryChoose(http.Request, record, options.Value, out var envelope, out var error))
            {
                return Problems.BadRequest(error!);
            }

            WriteInfoHeaders(http.Response, record);
            WriteContentHeaders(http.Response, record, envelope);
            return Results.Empty;
        }

        var content = await store.OpenPayloadAsync(caller.Workspace, id, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (content is null)
        {
            return Problems.NotFound();
        }

        if (caller.ChannelRefusal(content.Record.Channel) is { } outside)
        {
            await content.DisposeAsync().ConfigureAwait(false);
            return Problems.Forbidden(outside);
        }

        if (!HostedEnvelope.TryChoose(http.Request, content.Record, options.Value, out var asEnvelope, out var invalid))
        {
            await content.DisposeAsync().ConfigureAwait(false);
            return Problems.BadRequest(invalid!);
        }

        return new PayloadResult(content, asEnvelope);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, HttpContext http, IRelayStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!IsPayloadId(id))
        {
            return Problems.BadRequest(NotAnId);
        }

        var caller = Caller.From(http.User);
        if (caller.Channels is not null
            && await store.GetPayloadAsync(caller.Workspace, id, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false) is { } record
            && caller.ChannelRefusal(record.Channel) is { } refusal)
        {
            return Problems.Forbidden(refusal);
        }

        return await store.DeletePayloadAsync(caller.Workspace, id, cancellationToken).ConfigureAwait(false)
            ? TypedResults.NoContent()
            : Problems.NotFound();
    }

    private static async Task<IResult> PeekAsync(string id, HttpContext http, IRelayStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!IsPayloadId(id))
        {
            return Problems.BadRequest(NotAnId);
        }

        var caller = Caller.From(http.User);
        var record = await store.GetPayloadAsync(caller.Workspace, id, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return Problems.NotFound();
        }

        if (caller.ChannelRefusal(record.Channel) is { } refusal)
        {
            return Problems.Forbidden(refusal);
        }

        WriteInfoHeaders(http.Response, record);
        return Results.Text(record.MetadataJson, "application/json", Encoding.UTF8);
    }

    private const string NotAnId = "That is not a payload id: ids are the UUIDs a push returns, as in /pull/3f2a9c4e-…; pass the URL or id exactly as you got it.";

    private static bool IsPayloadId(string id) => id.Length == 36 && Guid.TryParseExact(id, "D", out _);

    internal static string Origin(HttpContext http, RelayOptions relay)
        => relay.PublicBaseUrl is { } publicUrl
            ? publicUrl.AbsoluteUri.TrimEnd('/')
            : $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";

    private static void WriteInfoHeaders(HttpResponse response, PayloadRecord record)
    {
        response.Headers["X-Relay-Size"] = record.Size.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-Relay-Encrypted"] = record.Encrypted ? "true" : "false";
        response.Headers["X-Relay-Created-At"] = record.CreatedAt.ToString("O", CultureInfo.InvariantCulture);
        response.Headers["X-Relay-Expires-At"] = record.ExpiresAt.ToString("O", CultureInfo.InvariantCulture);
        if (record.Channel is not null)
        {
            response.Headers["X-Relay-Channel"] = Uri.EscapeDataString(record.Channel);
        }
    }

    /// <summary>
    /// The bytes as pushed (with their length), or the hosted envelope (streamed, so no length). Text types
    /// without a charset are labelled UTF-8: payloads are text, and clients such as Python's requests
    /// would otherwise decode them as ISO-8859-1.
    /// </summary>
    private static void WriteContentHeaders(HttpResponse response, PayloadRecord record, bool envelope)
    {
        response.ContentType = envelope ? "text/plain; charset=utf-8" : WithCharset(record.ContentType);
        response.ContentLength = envelope ? null : record.Size;
        response.Headers.ETag = envelope ? HostedEnvelope.ETag(record) : $"\"{record.ETag}\"";
        response.Headers[HostedEnvelope.FormatHeader] = envelope ? HostedEnvelope.Envelope : HostedEnvelope.Raw;
        if (record.Shape == EnvelopeShape.PushedRaw)
        {
            response.Headers.Vary = "User-Agent, " + HostedEnvelope.FormatHeader;
        }

        response.Headers.CacheControl = "private, no-cache";
    }

    private static string WithCharset(string contentType)
        => MediaTypeHeaderValue.TryParse(contentType, out var type)
           && type.Charset.Length == 0
           && (type.Type.Equals("text", StringComparison.OrdinalIgnoreCase) || type.SubTypeWithoutSuffix.Equals("json", StringComparison.OrdinalIgnoreCase) || type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
            ? contentType + "; charset=utf-8"
            : contentType;

    private static bool IsJson(HttpRequest request)
        => MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
           && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));

    /// <summary>Raw body: the payload streams to the spool; options come from the query and headers.</summary>
    private static async Task<PushRequest> ReadRawPushAsync(HttpContext http, long limit, TimeSpan maxTtl, RelayOptions relay, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (request.ContentLength > limit)
        {
            throw new PayloadTooLargeException(limit); // refused before a byte is read (and before 100-continue)
        }

        var channel = ValidateChannel(request.Query["channel"].FirstOrDefault());
        var ttl = ParseTtl(request.Query["ttl_seconds"].FirstOrDefault() ?? request.Query["ttl"].FirstOrDefault(), relay.DefaultTtl, maxTtl);
        var encrypted = ParseBool(request.Query["encrypted"].FirstOrDefault() ?? request.Headers["X-Relay-Encrypted"].FirstOrDefault());
        var metadata = NormalizeMetadata(request.Headers["X-Relay-Metadata"].FirstOrDefault(), relay);
        SetBodyLimit(http, limit + 1);
        var contentType = string.IsNullOrWhiteSpace(request.ContentType) ? "text/plain; charset=utf-8" : request.ContentType;
        var spool = await PayloadSpool.ReadAsync(request.Body, limit, TempDirectory(relay), cancellationToken).ConfigureAwait(false);
        var shape = await HostedEnvelope.ClassifyAsync(spool, EnvelopeShape.PushedRaw, cancellationToken).ConfigureAwait(false);
        return new PushRequest(spool, channel, metadata, ttl, encrypted, contentType, shape);
    }

    /// <summary>
    /// The JSON envelope of the Python and JavaScript SDKs, parsed as it streams in: the data string is
    /// unescaped straight into the spool (memory, then a temp file), so a large envelope is never held
    /// whole in memory.
    /// </summary>
    private static async Task<PushRequest> ReadJsonPushAsync(HttpContext http, long limit, TimeSpan maxTtl, RelayOptions relay, CancellationToken cancellationToken)
    {
        // Escaping can make the envelope up to six times the data (\u0000); the data limit is checked exactly while it streams.
        var bodyLimit = (limit * 6) + relay.MaxMetadataBytes + 4096;
        if (http.Request.ContentLength > bodyLimit)
        {
            throw new PayloadTooLargeException(limit);
        }

        SetBodyLimit(http, bodyLimit);
        JsonEnvelope envelope;
        try
        {
            envelope = await JsonEnvelopeReader.ReadAsync(http.Request.Body, limit, relay.MaxMetadataBytes + 1024, TempDirectory(relay), cancellationToken).ConfigureAwait(false);
        }
        catch (JsonEnvelopeException ex)
        {
            throw new PushRejectedException(ex.Message + " Send {\"data\": \"…\"} or the payload as text/plain.");
        }

        try
        {
            var channel = envelope.Member("channel") is { } c
                ? ValidateChannel(c.ValueKind == JsonValueKind.String ? c.GetString() : throw new PushRejectedException("'channel' must be a string."))
                : null;
            var metadata = envelope.Member("metadata") is { } m ? NormalizeMetadata(m.GetRawText(), relay) : "{}";
            var ttl = envelope.Member("ttl_seconds") is { } t
                ? ParseTtl(t.ValueKind == JsonValueKind.Number ? t.GetRawText() : throw new PushRejectedException("'ttl_seconds' must be a number."), relay.DefaultTtl, maxTtl)
                : ParseTtl(null, relay.DefaultTtl, maxTtl);
            var encrypted = envelope.Member("encrypted") is { ValueKind: JsonValueKind.True };
            var shape = await HostedEnvelope.ClassifyAsync(envelope.Data, EnvelopeShape.PushedAsJson, cancellationToken).ConfigureAwait(false);
            return new PushRequest(envelope.Data, channel, metadata, ttl, encrypted, "text/plain; charset=utf-8", shape);
        }
        catch
        {
            await envelope.Data.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static void SetBodyLimit(HttpContext http, long limit)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }
    }

    internal static string? ValidateChannel(string? channel)
    {
        if (channel is null)
        {
            return null;
        }

        if (!Channels.IsValidName(channel))
        {
            throw new PushRejectedException(Channels.NameRule);
        }

        return channel;
    }

    internal static string NormalizeMetadata(string? json, RelayOptions relay)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return "{}";
        }

        if (Encoding.UTF8.GetByteCount(json) > relay.MaxMetadataBytes)
        {
            throw new PushRejectedException($"Metadata is larger than {relay.MaxMetadataBytes:N0} bytes; put large content in the payload itself.");
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new PushRejectedException("Metadata must be a JSON object, e.g. {\"task_id\": \"42\"}.");
            }
        }
        catch (JsonException)
        {
            throw new PushRejectedException("Metadata is not valid JSON; send a JSON object, e.g. {\"task_id\": \"42\"}.");
        }

        return json.Trim();
    }

    private static TimeSpan ParseTtl(string? value, TimeSpan defaultTtl, TimeSpan maxTtl)
    {
        if (string.IsNullOrEmpty(value))
        {
            return defaultTtl < maxTtl ? defaultTtl : maxTtl;
        }

        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0 || double.IsNaN(seconds))
        {
            throw new PushRejectedException("'ttl_seconds' must be a positive number of seconds.");
        }

        if (seconds > maxTtl.TotalSeconds)
        {
            throw new PushRejectedException($"'ttl_seconds' is at most {maxTtl.TotalSeconds:0} on this relay and plan.");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static bool ParseBool(string? value) => value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    private static string TempDirectory(RelayOptions relay) => Path.Combine(relay.DataDirectory, "tmp");

    private sealed record PushRequest(PayloadSpool Content, string? Channel, string MetadataJson, TimeSpan Ttl, bool Encrypted, string ContentType, EnvelopeShape Shape);

    /// <summary>
    /// How much of a pulled payload is read before the socket is given it. 256 KiB: a 1 MiB pull then starts
    /// sending after a quarter of its bytes instead of all of them (1 MiB pulls +4–28%, 25 MB +2–19% over
    /// alternating runs against a 1 MiB flush; 64 and 128 KiB were no better).
    /// </summary>
    private const int FlushBytes = 256 * 1024;

    /// <summary>
    /// Reads the payload straight into the response pipe's buffers (no intermediate buffer to copy from),
    /// flushing every <see cref="FlushBytes"/> so the socket sends while the next bytes are read.
    /// </summary>
    private static async Task CopyToBodyAsync(Stream content, System.IO.Pipelines.PipeWriter body, CancellationToken cancellationToken)
    {
        var unflushed = 0;
        while (true)
        {
            var memory = body.GetMemory(64 * 1024);
            var read = await content.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            body.Advance(read);
            unflushed += read;
            if (unflushed >= FlushBytes)
            {
                unflushed = 0;
                await body.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams a stored payload with Content-Length and ETag; 304 when the client has it.</summary>
    private sealed class PayloadResult(PayloadContent content, bool envelope) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            await using (content)
            {
                var record = content.Record;
                WriteInfoHeaders(http.Response, record);
                var etag = envelope ? HostedEnvelope.ETag(record) : $"\"{record.ETag}\"";
                if (http.Request.Headers.IfNoneMatch.Any(v => v is not null && (v.Contains(etag, StringComparison.Ordinal) || v == "*")))
                {
                    http.Response.Headers.ETag = etag;
                    http.Response.StatusCode = StatusCodes.Status304NotModified;
                    return;
                }

                WriteContentHeaders(http.Response, record, envelope);
                if (envelope)
                {
                    await HostedEnvelope.WriteAsync(content.Content, record.MetadataJson, http.Response.Body, http.RequestAborted).ConfigureAwait(false);
                }
                else
                {
                    await CopyToBodyAsync(content.Content, http.Response.BodyWriter, http.RequestAborted).ConfigureAwait(false);
                }

                var telemetry = http.RequestServices.GetRequiredService<RelayTelemetry>();
                telemetry.Pulls.Add(1);
                telemetry.BytesOut.Add(record.Size);
            }
        }
    }
}

/// <summary>The push answer: <c>url</c>, <c>id</c> and <c>channel</c> are what the Python and JavaScript SDKs read.</summary>
internal sealed record PushAnswer(
    [property: System.Text.Json.Serialization.JsonPropertyName("url")] string Url,
    [property: System.Text.Json.Serialization.JsonPropertyName("id")] string Id,
    [property: System.Text.Json.Serialization.JsonPropertyName("channel")] string? Channel,
    [property: System.Text.Json.Serialization.JsonPropertyName("expires_at")] DateTimeOffset ExpiresAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("size")] long Size);

/// <summary>A push or publish the relay refuses with 400; the message says what to send instead.</summary>
internal sealed class PushRejectedException(string message) : Exception(message);
