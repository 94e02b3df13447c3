using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using CtxRelay.Extensions.AI;
using static System.FormattableString;

namespace CtxRelay;

/// <summary>What a tool returns: one or more parts (the answer first, then notes about it).</summary>
internal sealed record ToolOutput(IReadOnlyList<string> Parts)
{
    public ToolOutput(string text)
        : this([text])
    {
    }

    /// <summary>The parts as one text, for frameworks that hand a model a single string per tool result.</summary>
    public override string ToString() => string.Join("\n\n", Parts);
}

/// <summary>How long wait_for_context has waited so far; MCP turns it into progress notifications.</summary>
internal readonly record struct WaitProgress(double Seconds, int TimeoutSeconds, string Message);

/// <summary>
/// The one definition of the ContextRelay tools: push text and hand on a URL, peek at and pull what a URL points at,
/// and wait for a hand-off on a channel. <see cref="ContextRelayTools"/> turns these methods into AIFunctions;
/// every failure is a <see cref="ContextRelayToolException"/> whose text says what to do next.
/// </summary>
internal sealed class RelayToolFunctions(ContextRelay relay, ToolErrors errors, PayloadReader reader)
{
    public const int DefaultWaitSeconds = 60;
    public const int MaxWaitSeconds = 3600;
    public const int MaxChannelLength = 200;

    private static readonly TimeSpan s_heartbeat = TimeSpan.FromSeconds(15);
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    [Description(
        "Stores text on the ContextRelay relay and returns a URL that stands for it. Use this instead of pasting large "
        + "context (files, logs, diffs, research notes: anything over a few thousand characters) into a message or a "
        + "prompt for another agent: hand on the URL, and the receiver reads it with peek_context and pull_context. "
        + "Payloads expire after 24 hours by default. With encrypted=true the text is encrypted on this machine before it "
        + "leaves, and the URL ends in #key=…, the only copy of the key: always pass that URL on whole, exactly as "
        + "returned. Give a one-line summary so the receiver can decide with peek_context whether to pull.")]
    public async Task<ToolOutput> PushContextAsync(
        [Description("The text to hand on. Several megabytes are fine.")] string data,
        [Description("Optional channel name (e.g. the receiving agent's or the task's name). Agents waiting on it with wait_for_context are notified of this push.")] string? channel = null,
        [Description("Encrypt end to end: the relay stores only ciphertext, and the key travels only in the returned URL's #key= fragment. Use it for secrets, private code or personal data.")] bool encrypted = false,
        [Description("One line saying what this is, e.g. 'Full test log of run 42; 3 failures at the end'. The receiver reads it with peek_context before deciding to pull. Stored as metadata.summary.")] string? summary = null,
        [Description("Optional JSON object of extra fields stored with the payload, e.g. {\"content_type\": \"text/markdown\", \"files\": 12}. peek_context returns it.")] JsonElement? metadata = null,
        CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(data))
        {
            throw new ContextRelayToolException("data is empty: there is nothing to push. Pass the text to hand on as data.");
        }

        if (channel is not null)
        {
            channel = channel.Trim();
            if (channel.Length is 0 or > MaxChannelLength)
            {
                throw new ContextRelayToolException($"channel must be 1 to {MaxChannelLength} characters; leave it out to push without a channel.");
            }
        }

        var fields = ToMetadata(metadata);
        if (!string.IsNullOrWhiteSpace(summary))
        {
            fields["summary"] = summary.Trim();
        }

        var result = await errors.GuardAsync(url: null, () => relay.PushWithResultAsync(
            data, channel, fields.Count > 0 ? fields : null, encrypted, ttl: null, progress: null, cancellationToken)).ConfigureAwait(false);

        var where = result.Channel is { } c ? $" on channel '{c}'" : string.Empty;
        var about = Invariant($"Stored {result.Size:N0} bytes{where}; expires {result.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC. ")
            + (encrypted
                ? "Hand on the URL above whole, including its #key=… fragment: that is the only copy of the decryption key."
                : "Hand on the URL above.");
        return new ToolOutput([result.Url, about]);
    }

    [Description(
        "Call this first whenever you receive a ContextRelay URL (…/pull/<id>, possibly ending in #key=…). Returns the "
        + "payload's metadata (metadata.summary says what it is), its size in bytes, channel, whether it is encrypted, and "
        + "when it expires, never the payload itself. Then decide whether to pull_context it, and how: page by page, or "
        + "with save_to when it is large.")]
    public async Task<ToolOutput> PeekContextAsync(
        [Description("The ContextRelay URL as received (…/pull/<id>, with its #key=… fragment if it has one), or a bare payload id.")] string url,
        CancellationToken cancellationToken = default)
    {
        var info = await errors.GuardAsync(url, () => relay.PeekAsync(url, cancellationToken)).ConfigureAwait(false);
        var pages = (info.Size + Paging.DefaultMaxChars - 1) / Paging.DefaultMaxChars;
        var answer = new JsonObject
        {
            ["id"] = info.Id,
            ["metadata"] = info.Metadata.DeepClone(),
            ["size_bytes"] = info.Size,
            ["encrypted"] = info.Encrypted,
            ["channel"] = info.Channel,
            ["created_at"] = Iso(info.CreatedAt),
            ["expires_at"] = Iso(info.ExpiresAt),
            ["how_to_read"] = pages <= 1
                ? "Small: one pull_context call returns all of it."
                : Invariant($"Large: pull_context returns it in up to {pages:N0} pages of {Paging.DefaultMaxChars:N0} characters; ")
                    + "pull_context with save_to=<file path> writes all of it to a file at once.",
        };
        if (info.Encrypted && !PayloadReader.HasKey(url))
        {
            answer["warning"] = "Encrypted, and this URL has no #key=… fragment: pulling needs the whole URL the sender handed on.";
        }

        return new ToolOutput(answer.ToJsonString(s_indented));
    }

    [Description(
        "Returns the text behind a ContextRelay URL, decrypted on this machine when the URL carries #key=…. Pass the URL "
        + "exactly as received, including any #key= part. Large payloads come back in pages of max_chars characters "
        + "(default 20000): a page is followed by a note saying how many characters remain and the offset to pass next. "
        + "To get a large payload at once, pass save_to=<file path>: the whole payload is written to that file and only "
        + "the path and size come back; read the file with your file tools.")]
    public async Task<ToolOutput> PullContextAsync(
        [Description("The ContextRelay URL as received (…/pull/<id>, with its #key=… fragment if it has one), or a bare payload id.")] string url,
        [Description("Character offset to start at: 0 (the default) for the first page, then the offset named in the previous page's note.")] int offset = 0,
        [Description("Most characters to return in this page: default 20000, at most 100000.")] int max_chars = Paging.DefaultMaxChars,
        [Description("Write the whole payload to this local file instead of returning it (offset and max_chars are then ignored). A relative path is resolved against the server's working directory; missing folders are created; an existing file is replaced.")] string? save_to = null,
        CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrWhiteSpace(save_to))
        {
            return await SaveAsync(url, save_to, cancellationToken).ConfigureAwait(false);
        }

        if (offset < 0)
        {
            throw new ContextRelayToolException("offset cannot be negative: use 0 for the first page.");
        }

        if (max_chars < 1)
        {
            throw new ContextRelayToolException($"max_chars must be at least 1 (default {Paging.DefaultMaxChars}).");
        }

        var text = await reader.ReadTextAsync(url, cancellationToken).ConfigureAwait(false);
        if (offset >= text.Length && offset > 0)
        {
            throw new ContextRelayToolException(Invariant(
                $"offset={offset} is at or past the end: the payload has {text.Length:N0} characters (valid offsets are 0 to {text.Length - 1}). You already have all of it if you pulled up to there."));
        }

        var page = Paging.Slice(text, offset, Math.Min(max_chars, Paging.MaxMaxChars));
        var pageText = page.IsWhole ? text : text[page.Start..page.End];
        return Paging.Note(page) is { } note ? new ToolOutput([pageText, note]) : new ToolOutput(pageText);
    }

    [Description(
        "Waits until another agent pushes a payload or publishes a message on a channel, and returns it: a push gives the "
        + "payload's URL and metadata (then call peek_context and pull_context), a message gives its text. Use it to block "
        + "on a hand-off instead of polling. Only events that happen after the call starts count, unless you pass "
        + "after_seq. When timeout_seconds pass with nothing, it says so (not an error): call it again to keep waiting. "
        + "The URL of an encrypted push arrives without its #key= (keys never pass through the relay): ask the sender for the whole URL.")]
    public async Task<ToolOutput> WaitForContextAsync(
        [Description("The channel to wait on: the name the sender passes to push_context.")] string channel,
        [Description("How long to wait, in seconds: default 60, at most 3600.")] int timeout_seconds = DefaultWaitSeconds,
        [Description("Optional: the seq of the last event you got from wait_for_context on this channel. Events after it that happened in the meantime are returned first, so nothing is missed between calls.")] long? after_seq = null,
        IProgress<WaitProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        channel = channel?.Trim() ?? string.Empty;
        if (channel.Length is 0 or > MaxChannelLength)
        {
            throw new ContextRelayToolException($"channel must be 1 to {MaxChannelLength} characters: the name the sender pushes to.");
        }

        if (timeout_seconds is < 1 or > MaxWaitSeconds)
        {
            throw new ContextRelayToolException($"timeout_seconds must be between 1 and {MaxWaitSeconds}.");
        }

        if (after_seq is < 0)
        {
            throw new ContextRelayToolException("after_seq cannot be negative: pass the seq of an event you received, or leave it out.");
        }

        var limit = TimeSpan.FromSeconds(timeout_seconds);
        var subscription = await errors.GuardAsync(url: null,
            () => relay.OpenSubscriptionAsync(channel, after_seq, cancellationToken)).ConfigureAwait(false);
        await using (subscription.ConfigureAwait(false))
        {
            // The subscription is registered with the relay now: anything pushed from here on is delivered. Say so,
            // so a caller coordinating with the sender knows it is safe to go ahead.
            progress?.Report(new WaitProgress(0, timeout_seconds, $"Waiting on channel '{channel}'."));

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(limit);
            var started = TimeProvider.System.GetTimestamp();
            try
            {
                var next = subscription.WaitForAsync(static _ => true, timeout.Token);

                // Some clients give up on a silent request: report progress now and then while waiting. The
                // ticks ignore cancellation on purpose: a loop that could wake on an already-cancelled token
                // would spin; this one wakes only when the event (or the timeout) comes, or every interval.
                using var heartbeat = new PeriodicTimer(s_heartbeat);
                while (await Task.WhenAny(next, heartbeat.WaitForNextTickAsync(CancellationToken.None).AsTask()).ConfigureAwait(false) != next)
                {
                    var waited = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
                    progress?.Report(new WaitProgress(waited, timeout_seconds, $"Still waiting on channel '{channel}'."));
                }

                return new ToolOutput(Describe(await next.ConfigureAwait(false)));
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return new ToolOutput(Invariant($"Nothing was pushed or published on channel '{channel}' within {timeout_seconds} s. Call wait_for_context again to keep waiting")
                    + (subscription.LastSeq >= 0 ? Invariant($" (with after_seq={subscription.LastSeq}).") : "."));
            }
        }
    }

    private async Task<ToolOutput> SaveAsync(string url, string saveTo, CancellationToken cancellationToken)
    {
        string path;
        try
        {
            path = ResolvePath(saveTo);
            if (Directory.Exists(path))
            {
                throw new ContextRelayToolException($"save_to='{saveTo}' is a folder: give a file path, e.g. {Path.Combine(path, "payload.txt")}.");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ContextRelayToolException($"Cannot write to save_to='{saveTo}': {ex.Message} Choose a file path you can write to.", ex);
        }

        long bytes;
        try
        {
            bytes = await reader.SaveAsync(url, path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ContextRelayToolException($"Cannot write {path}: {ex.Message} Choose a file path you can write to.", ex);
        }

        return new ToolOutput(Invariant(
            $"Saved the whole payload ({bytes:N0} bytes, UTF-8) to {path}. Read it from there with your file tools."));
    }

    private static string ResolvePath(string path)
    {
        path = path.Trim();
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
        {
            path = Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[1..].TrimStart('/', '\\'));
        }

        return Path.GetFullPath(path);
    }

    private static JsonObject ToMetadata(JsonElement? metadata)
    {
        if (metadata is not { } element || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return [];
        }

        // Some clients send an object argument as a JSON string; accept that too.
        if (element.ValueKind == JsonValueKind.String)
        {
            try
            {
                if (JsonNode.Parse(element.GetString()!) is JsonObject parsed)
                {
                    return parsed;
                }
            }
            catch (JsonException)
            {
            }
        }
        else if (element.ValueKind == JsonValueKind.Object)
        {
            return JsonObject.Create(element)!.DeepClone().AsObject();
        }

        throw new ContextRelayToolException("metadata must be a JSON object, e.g. {\"content_type\": \"text/markdown\"}; leave it out if you have none.");
    }

    private static string Describe(RelayEvent relayEvent)
    {
        var answer = new JsonObject
        {
            ["type"] = relayEvent.Type == RelayEventType.Push ? "push" : "message",
            ["channel"] = relayEvent.Channel,
            ["seq"] = relayEvent.Seq,
            ["at"] = Iso(relayEvent.Timestamp),
        };
        if (relayEvent.Type == RelayEventType.Push)
        {
            answer["url"] = relayEvent.Url;
            answer["id"] = relayEvent.Id;
            answer["metadata"] = relayEvent.Metadata.DeepClone();
            answer["next"] = "Call peek_context with this url, then pull_context.";
        }
        else
        {
            answer["data"] = relayEvent.Data;
            answer["metadata"] = relayEvent.Metadata.DeepClone();
        }

        return answer.ToJsonString(s_indented);
    }

    private static string? Iso(DateTimeOffset time)
        => time == default ? null : time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
}
