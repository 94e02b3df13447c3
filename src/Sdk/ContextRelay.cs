using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CtxRelay.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace CtxRelay;

/// <summary>
/// Client of a ContextRelay relay: push a payload and hand on its URL, pull or peek it elsewhere,
/// publish to and subscribe on channels. Thread-safe; create one and share it.
/// </summary>
public sealed class ContextRelay : IDisposable
{
    internal const string MetadataHeader = "X-Relay-Metadata";
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;
    private readonly bool _ownsHttpClient;

    /// <summary>Connects to the relay at <paramref name="baseUrl"/> with an API key.</summary>
    public ContextRelay(string apiKey, string baseUrl = ContextRelayOptions.DefaultBaseUrl)
        : this(ContextRelayOptions.Default with { ApiKey = apiKey, BaseUrl = ContextRelayOptions.ParseBaseUrl(baseUrl) })
    {
    }

    /// <summary>Connects with explicit options; the client owns its own connection pool.</summary>
    public ContextRelay(ContextRelayOptions options)
        : this(new HttpClient(CreateHandler(), disposeHandler: true), options, ownsHttpClient: true)
    {
    }

    /// <summary>Uses an <see cref="HttpClient"/> owned by the caller (from <c>IHttpClientFactory</c>).</summary>
    [ActivatorUtilitiesConstructor]
    public ContextRelay(HttpClient httpClient, ContextRelayOptions options)
        : this(httpClient, options, ownsHttpClient: false)
    {
    }

    private ContextRelay(HttpClient httpClient, ContextRelayOptions options, bool ownsHttpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _http = httpClient;
        _ownsHttpClient = ownsHttpClient;
        if (ownsHttpClient)
        {
            _http.Timeout = Timeout.InfiniteTimeSpan; // enforced per call (RequestTimeout), so big payloads are not cut
        }
    }

    public ContextRelayOptions Options { get; }

    /// <summary>
    /// Stores <paramref name="data"/> on the relay and returns the URL to hand to another agent.
    /// With <paramref name="encrypted"/>, the text is Fernet-encrypted here and the key travels only in
    /// the URL's <c>#key=</c> fragment, which is never sent to the relay.
    /// </summary>
    public async Task<string> PushAsync(
        string data,
        string? channel = null,
        object? metadata = null,
        bool encrypted = false,
        TimeSpan? ttl = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var result = await PushWithResultAsync(data, channel, metadata, encrypted, ttl, progress, cancellationToken).ConfigureAwait(false);
        return result.Url;
    }

    /// <summary>Like <see cref="PushAsync"/>, returning everything the relay answered.</summary>
    public async Task<PushResult> PushWithResultAsync(
        string data,
        string? channel = null,
        object? metadata = null,
        bool encrypted = false,
        TimeSpan? ttl = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length == 0)
        {
            throw new ArgumentException("A payload cannot be empty.", nameof(data));
        }

        ValidatePushOptions(channel, ttl);

        string? key = null;
        if (encrypted)
        {
            key = Fernet.GenerateKey();
            data = Fernet.Encrypt(key, data);
        }

        return await SendPushAsync(new Utf8StringContent(data, "text/plain", progress), channel, metadata, key, ttl, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads a payload. <paramref name="urlOrId"/> is the URL as handed on (decrypted here when it
    /// carries <c>#key=</c>) or a bare id.
    /// </summary>
    public async Task<string> PullAsync(string urlOrId, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var address = RelayAddress.Parse(urlOrId);
        var bytes = await PullBytesAsync(address, progress, cancellationToken).ConfigureAwait(false);
        if (address.Key is null)
        {
            return DecodeUtf8(bytes);
        }

        var token = Encoding.ASCII.GetString(bytes);
        return Fernet.DecryptString(address.Key, token);
    }

    /// <summary>
    /// Downloads a payload into <paramref name="destination"/> (decrypting when the URL has a key) and
    /// returns the number of bytes written. Unencrypted payloads stream through without being held in memory.
    /// </summary>
    public async Task<long> PullToStreamAsync(string urlOrId, Stream destination, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var address = RelayAddress.Parse(urlOrId);
        if (address.Key is not null)
        {
            var token = Encoding.ASCII.GetString(await PullBytesAsync(address, progress, cancellationToken).ConfigureAwait(false));
            var plain = Fernet.Decrypt(address.Key, token);
            await destination.WriteAsync(plain, cancellationToken).ConfigureAwait(false);
            return plain.Length;
        }

        using var request = PullRequest(address);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        EnsureKeyFor(response, address);
        await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return await CopyWithProgressAsync(source, destination, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a payload's metadata, size, channel and expiry without downloading it.</summary>
    public async Task<PayloadInfo> PeekAsync(string urlOrId, CancellationToken cancellationToken = default)
    {
        var address = RelayAddress.Parse(urlOrId);
        using var request = new HttpRequestMessage(HttpMethod.Get, "peek/" + address.Id);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var metadata = await ReadJsonObjectAsync(response, cancellationToken).ConfigureAwait(false);
        return new PayloadInfo
        {
            Id = address.Id,
            Metadata = metadata,
            Size = long.TryParse(Header(response, "X-Relay-Size"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) ? size : 0,
            Channel = Header(response, "X-Relay-Channel") is { Length: > 0 } c ? Uri.UnescapeDataString(c) : null,
            Encrypted = string.Equals(Header(response, "X-Relay-Encrypted"), "true", StringComparison.OrdinalIgnoreCase),
            CreatedAt = ParseTime(Header(response, "X-Relay-Created-At")),
            ExpiresAt = ParseTime(Header(response, "X-Relay-Expires-At")),
        };
    }

    /// <summary>Deletes a payload before it expires (only its own workspace can).</summary>
    public async Task DeleteAsync(string urlOrId, CancellationToken cancellationToken = default)
    {
        var address = RelayAddress.Parse(urlOrId);
        using var request = new HttpRequestMessage(HttpMethod.Delete, "pull/" + address.Id);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a message on a channel without storing a payload; returns its sequence number.</summary>
    public async Task<long> PublishAsync(string channel, string data, object? metadata = null, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        ArgumentNullException.ThrowIfNull(data);
        var body = new JsonObject { ["data"] = data };
        if (SerializeMetadata(metadata) is { } metadataJson)
        {
            body["metadata"] = JsonNode.Parse(metadataJson);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "publish/" + Uri.EscapeDataString(channel))
        {
            Content = JsonContent.Create(body, options: s_json),
        };
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var answer = await ReadJsonObjectAsync(response, cancellationToken).ConfigureAwait(false);
        return answer["seq"]?.GetValue<long>() ?? 0;
    }

    /// <summary>
    /// Connects to a channel and returns once the relay has registered the subscription, so nothing
    /// pushed after this returns can be missed. Reconnects by itself and resumes after the last event
    /// it delivered. Dispose it to unsubscribe.
    /// </summary>
    /// <param name="since">Replay the events after this sequence number first, then go live.</param>
    public Task<RelaySubscription> OpenSubscriptionAsync(string channel, long? since = null, CancellationToken cancellationToken = default)
        => OpenSubscriptionAsync(channel, SubscriptionOptions.Default with { Since = since }, cancellationToken);

    /// <summary>
    /// Connects to a channel with <paramref name="options"/> (replay, queue group) and returns once the
    /// relay has registered the subscription.
    /// </summary>
    public async Task<RelaySubscription> OpenSubscriptionAsync(string channel, SubscriptionOptions options, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Group is not null)
        {
            ValidateChannel(options.Group);
            ArgumentOutOfRangeException.ThrowIfLessThan(options.Prefetch, 1);
        }

        var subscription = new RelaySubscription(this, channel, options);
        try
        {
            await subscription.StartAsync(cancellationToken).ConfigureAwait(false);
            return subscription;
        }
        catch
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The events of a channel as they happen. Leaving the loop (or cancelling) unsubscribes.
    /// </summary>
    public IAsyncEnumerable<RelayEvent> SubscribeAsync(string channel, CancellationToken cancellationToken = default)
        => SubscribeAsync(channel, since: null, cancellationToken);

    /// <inheritdoc cref="SubscribeAsync(string, CancellationToken)"/>
    public IAsyncEnumerable<RelayEvent> SubscribeAsync(string channel, long? since, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        return Iterate(channel, since, cancellationToken);

        async IAsyncEnumerable<RelayEvent> Iterate(string channel, long? since, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await using var subscription = await OpenSubscriptionAsync(channel, since, cancellationToken).ConfigureAwait(false);
            await foreach (var relayEvent in subscription.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return relayEvent;
            }
        }
    }

    /// <summary>
    /// Calls <paramref name="handler"/> for each event of a channel, one at a time, until the returned
    /// subscription is disposed. Returns once the subscription is registered. If the handler throws,
    /// delivery stops and <see cref="RelaySubscription.Completion"/> faults with that exception.
    /// </summary>
    public async Task<RelaySubscription> SubscribeAsync(string channel, Func<RelayEvent, CancellationToken, Task> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = await OpenSubscriptionAsync(channel, since: null, cancellationToken).ConfigureAwait(false);
        subscription.RunHandler(handler);
        return subscription;
    }

    public void Dispose()
    {
        if (_ownsHttpClient)
        {
            _http.Dispose();
        }
    }

    internal Uri BuildUri(string relative)
    {
        var baseUri = Options.BaseUrl.AbsoluteUri.EndsWith('/') ? Options.BaseUrl : new Uri(Options.BaseUrl.AbsoluteUri + "/");
        return new Uri(baseUri, relative);
    }

    internal static RelayException TranslateFailure(HttpStatusCode status, RelayProblem? problem, TimeSpan? retryAfter, string what)
    {
        var detail = problem?.Detail ?? problem?.Title ?? $"{(int)status} {status}";
        return status switch
        {
            HttpStatusCode.Unauthorized => new RelayAuthException($"The relay rejected the API key: {detail}", problem),
            HttpStatusCode.Forbidden => new RelayForbiddenException($"This key may not {what}: {detail}", problem),
            HttpStatusCode.NotFound => new RelayNotFoundException($"Not found: {detail}", problem),
            HttpStatusCode.RequestEntityTooLarge => new RelayPayloadTooLargeException($"Payload too large: {detail}", problem),
            HttpStatusCode.TooManyRequests => new RelayQuotaException($"Quota exceeded: {detail}", problem, retryAfter),
            >= HttpStatusCode.InternalServerError => new RelayUnavailableException($"The relay failed to {what}: {detail}", problem),
            _ => new RelayException($"The relay refused to {what}: {detail}", problem),
        };
    }

    private static string? SerializeMetadata(object? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        var node = metadata as JsonNode ?? JsonSerializer.SerializeToNode(metadata, s_json);
        if (node is not JsonObject)
        {
            throw new ArgumentException("Metadata must be an object (an anonymous object, a dictionary or a JsonObject).", nameof(metadata));
        }

        // The default encoder escapes every non-ASCII character, so the text is safe in an HTTP header.
        return node.ToJsonString();
    }

    private static void ValidateChannel(string channel)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(channel);
        if (channel.Length > 200)
        {
            throw new ArgumentException("A channel name has at most 200 characters.", nameof(channel));
        }
    }

    /// <summary>
    /// A pull of the bytes exactly as pushed: <c>X-Relay-Format: raw</c> opts out of the hosted relay's
    /// envelope, which the relay may otherwise serve for payloads shaped like it (docs/protocol.md).
    /// </summary>
    private static HttpRequestMessage PullRequest(RelayAddress address)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "pull/" + address.Id);
        request.Headers.Add("X-Relay-Format", "raw");
        return request;
    }

    private async Task<byte[]> PullBytesAsync(RelayAddress address, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        using var request = PullRequest(address);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        EnsureKeyFor(response, address);
        await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var length = response.Content.Headers.ContentLength;
        using var buffer = length is { } l and <= int.MaxValue ? new MemoryStream((int)l) : new MemoryStream();
        await CopyWithProgressAsync(source, buffer, progress, cancellationToken).ConfigureAwait(false);
        return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
    }

    /// <summary>An encrypted payload pulled without its key would be ciphertext posing as text: refuse it.</summary>
    private static void EnsureKeyFor(HttpResponseMessage response, RelayAddress address)
    {
        if (address.Key is null && string.Equals(Header(response, "X-Relay-Encrypted"), "true", StringComparison.OrdinalIgnoreCase))
        {
            throw new RelayDecryptionException(
                "This payload is encrypted and the URL has no #key=… fragment: pass the whole URL exactly as the sender handed it on.");
        }
    }

    internal static async Task<long> CopyWithProgressAsync(Stream source, Stream destination, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            total += read;
            progress?.Report(total);
        }

        return total;
    }

    private static string DecodeUtf8(byte[] bytes)
    {
        var span = bytes.AsSpan();
        if (span.StartsWith(Encoding.UTF8.Preamble))
        {
            span = span[Encoding.UTF8.Preamble.Length..];
        }

        return Encoding.UTF8.GetString(span);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        request.RequestUri = BuildUri(request.RequestUri!.OriginalString);
        if (Options.ApiKey is { Length: > 0 } apiKey)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, timeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new RelayUnavailableException($"Cannot reach the relay at {Options.BaseUrl}: {ex.Message}", innerException: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RelayUnavailableException($"The relay at {Options.BaseUrl} did not answer within {Options.RequestTimeout}.", innerException: ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var problem = await ReadProblemAsync(response, cancellationToken).ConfigureAwait(false);
            var retryAfter = response.Headers.RetryAfter?.Delta;
            throw TranslateFailure(response.StatusCode, problem, retryAfter, Describe(request));
        }
    }

    private static string Describe(HttpRequestMessage request)
    {
        var path = request.RequestUri?.AbsolutePath ?? string.Empty;
        return path switch
        {
            _ when path.Contains("/push", StringComparison.Ordinal) => "store the payload",
            _ when path.Contains("/publish/", StringComparison.Ordinal) => "publish the message",
            _ when path.Contains("/peek/", StringComparison.Ordinal) => "peek at the payload",
            _ when request.Method == HttpMethod.Delete => "delete the payload",
            _ => "return the payload",
        };
    }

    private static async Task<RelayProblem?> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            var node = JsonNode.Parse(text) as JsonObject;
            return node is null
                ? null
                : new RelayProblem(
                    node["type"]?.GetValue<string>(),
                    node["title"]?.GetValue<string>(),
                    node["status"]?.GetValue<int>() ?? (int)response.StatusCode,
                    node["detail"]?.GetValue<string>(),
                    node["instance"]?.GetValue<string>())
                {
                    Extensions = node
                        .Where(member => member.Key is not ("type" or "title" or "status" or "detail" or "instance") && member.Value is not null)
                        .ToDictionary(member => member.Key, member => JsonSerializer.SerializeToElement(member.Value)),
                };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<JsonObject> ReadJsonObjectAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonNode.Parse(text.Length == 0 ? "{}" : text) as JsonObject ?? throw Unexpected("expected a JSON object");
        }
        catch (JsonException ex)
        {
            throw new RelayException("The relay answered with malformed JSON; is the base URL a ContextRelay relay?", innerException: ex);
        }
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static DateTimeOffset ParseTime(string? value)
        => DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : default;

    private static RelayException Unexpected(string what) => new($"Unexpected answer from the relay: {what}.");

    private static SocketsHttpHandler CreateHandler() => new()
    {
        AutomaticDecompression = DecompressionMethods.All,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };

    /// <summary>
    /// Stores the bytes of <paramref name="content"/> exactly as they are (no text decoding), streamed to
    /// the relay as the raw body with <paramref name="contentType"/>. With <paramref name="encrypted"/> the
    /// bytes are read into memory and Fernet-encrypted here first; the key travels only in the URL's
    /// <c>#key=</c> fragment. <paramref name="progress"/> reports the bytes sent. The caller keeps
    /// ownership of the stream; its length is declared when it can seek, else the body goes chunked.
    /// </summary>
    public async Task<PushResult> PushStreamAsync(
        Stream content,
        string contentType = "application/octet-stream",
        string? channel = null,
        object? metadata = null,
        bool encrypted = false,
        TimeSpan? ttl = null,
        IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        ValidatePushOptions(channel, ttl);

        string? key = null;
        HttpContent body;
        if (encrypted)
        {
            using var plain = new MemoryStream();
            await content.CopyToAsync(plain, cancellationToken).ConfigureAwait(false);
            key = Fernet.GenerateKey();
            body = new Utf8StringContent(Fernet.Encrypt(key, plain.GetBuffer().AsSpan(0, (int)plain.Length)), "text/plain", progress);
        }
        else
        {
            body = new ProgressStreamContent(content, contentType, progress);
        }

        return await SendPushAsync(body, channel, metadata, key, ttl, cancellationToken).ConfigureAwait(false);
    }

    private static void ValidatePushOptions(string? channel, TimeSpan? ttl)
    {
        if (ttl is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), "The time to live must be positive.");
        }

        if (channel is not null)
        {
            ValidateChannel(channel);
        }
    }

    /// <summary>
    /// POSTs a raw-body push (options in the query, metadata in <c>X-Relay-Metadata</c>) and reads the
    /// answer; <paramref name="key"/> is appended to the URL as <c>#key=</c> when the content is a Fernet token.
    /// </summary>
    private async Task<PushResult> SendPushAsync(HttpContent content, string? channel, object? metadata, string? key, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        var encrypted = key is not null;
        var query = new StringBuilder("push?");
        if (channel is not null)
        {
            query.Append("channel=").Append(Uri.EscapeDataString(channel)).Append('&');
        }

        if (ttl is { } timeToLive)
        {
            query.Append("ttl_seconds=").Append(((long)Math.Ceiling(timeToLive.TotalSeconds)).ToString(CultureInfo.InvariantCulture)).Append('&');
        }

        if (encrypted)
        {
            query.Append("encrypted=true&");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, query.ToString().TrimEnd('&', '?'))
        {
            Content = content,
        };
        var metadataJson = SerializeMetadata(metadata);
        if (metadataJson is not null)
        {
            request.Headers.TryAddWithoutValidation(MetadataHeader, metadataJson);
        }

        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var body = await ReadJsonObjectAsync(response, cancellationToken).ConfigureAwait(false);
        var url = body["url"]?.GetValue<string>() ?? throw Unexpected("the push answer has no url");
        if (key is not null)
        {
            url += "#key=" + key;
        }

        return new PushResult(
            url,
            body["id"]?.GetValue<string>() ?? throw Unexpected("the push answer has no id"),
            body["channel"]?.GetValue<string>(),
            body["expires_at"] is { } expires ? DateTimeOffset.Parse(expires.GetValue<string>(), CultureInfo.InvariantCulture) : default,
            body["size"]?.GetValue<long>() ?? 0);
    }

    /// <summary>
    /// The retained events of a channel after <paramref name="since"/> (oldest first), at most
    /// <paramref name="limit"/> of them (the relay's default is 100, its maximum 1,000) —
    /// <c>GET /channels/{channel}/history</c>.
    /// </summary>
    public async Task<IReadOnlyList<RelayEvent>> GetHistoryAsync(string channel, long since = 0, int? limit = null, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        ArgumentOutOfRangeException.ThrowIfNegative(since);
        if (limit is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(limit));
        }

        var path = $"channels/{Uri.EscapeDataString(channel)}/history?since={since.ToString(CultureInfo.InvariantCulture)}"
            + (limit is { } l ? "&limit=" + l.ToString(CultureInfo.InvariantCulture) : string.Empty);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var answer = await ReadJsonObjectAsync(response, cancellationToken).ConfigureAwait(false);
        var events = new List<RelayEvent>();
        foreach (var frame in answer["events"] as JsonArray ?? [])
        {
            if (frame is JsonObject && RelaySubscription.Parse(frame.ToJsonString()) is { } relayEvent)
            {
                events.Add(relayEvent);
            }
        }

        return events;
    }

    /// <summary>
    /// The channel's queue groups: each one's position, backlog, connected members and unacknowledged
    /// claims — <c>GET /channels/{channel}/groups</c>.
    /// </summary>
    public async Task<IReadOnlyList<QueueGroupInfo>> GetGroupsAsync(string channel, CancellationToken cancellationToken = default)
    {
        ValidateChannel(channel);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"channels/{Uri.EscapeDataString(channel)}/groups");
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var answer = await ReadJsonObjectAsync(response, cancellationToken).ConfigureAwait(false);
        var groups = new List<QueueGroupInfo>();
        foreach (var group in (answer["groups"] as JsonArray ?? []).OfType<JsonObject>())
        {
            groups.Add(new QueueGroupInfo
            {
                Name = group["name"]?.GetValue<string>() ?? throw Unexpected("a group has no name"),
                Cursor = group["cursor"]?.GetValue<long>() ?? 0,
                Backlog = group["backlog"]?.GetValue<long>() ?? 0,
                Members = [.. (group["members"] as JsonArray ?? []).OfType<JsonObject>().Select(m => new QueueGroupMember(
                    m["id"]?.GetValue<string>() ?? string.Empty,
                    FromUnixMilliseconds(m["connected_at"]),
                    FromUnixMilliseconds(m["seen_until"])))],
                Pending = [.. (group["pending"] as JsonArray ?? []).OfType<JsonObject>().Select(c => new PendingGroupClaim(
                    c["seq"]?.GetValue<long>() ?? 0,
                    c["member"]?.GetValue<string>() ?? string.Empty,
                    c["deliveries"]?.GetValue<int>() ?? 0,
                    c["ack_deadline"] is { } deadline ? FromUnixMilliseconds(deadline) : null))],
            });
        }

        return groups;
    }

    private static DateTimeOffset FromUnixMilliseconds(JsonNode? milliseconds)
        => milliseconds is null ? default : DateTimeOffset.FromUnixTimeMilliseconds(milliseconds.GetValue<long>());
}
