using System.Net;
using System.Text.Json;

namespace CtxRelay;

/// <summary>
/// Base of every error the ContextRelay client raises. When the relay answered with a problem
/// document (RFC 9457), <see cref="Problem"/> carries it so callers can show the server's own words.
/// </summary>
public class RelayException : Exception
{
    public RelayException(string message, RelayProblem? problem = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Problem = problem;
    }

    /// <summary>The relay's problem detail, when the error came from the relay.</summary>
    public RelayProblem? Problem { get; }

    /// <summary>The HTTP status the relay answered with, when there was one.</summary>
    public HttpStatusCode? StatusCode => Problem is { Status: > 0 } p ? (HttpStatusCode)p.Status : null;
}

/// <summary>401: the API key is missing, malformed, unknown or revoked.</summary>
public sealed class RelayAuthException(string message, RelayProblem? problem = null, Exception? innerException = null)
    : RelayException(message, problem, innerException);

/// <summary>403: the key is valid but may not do this (for example a read-only key that pushes).</summary>
public sealed class RelayForbiddenException(string message, RelayProblem? problem = null)
    : RelayException(message, problem);

/// <summary>404: no such payload — unknown, expired, deleted, or another workspace's (the relay never says which).</summary>
public sealed class RelayNotFoundException(string message, RelayProblem? problem = null)
    : RelayException(message, problem);

/// <summary>413: the payload is larger than the relay accepts.</summary>
public sealed class RelayPayloadTooLargeException(string message, RelayProblem? problem = null)
    : RelayException(message, problem);

/// <summary>
/// 429: the workspace is over its plan's monthly quota, per-minute rate or storage quota.
/// <see cref="RetryAfter"/> and <see cref="ResetsAt"/> say when to try again; <see cref="Plan"/>,
/// <see cref="Meter"/>, <see cref="Limit"/> and <see cref="Used"/> which limit it is.
/// </summary>
public sealed class RelayQuotaException(string message, RelayProblem? problem = null, TimeSpan? retryAfter = null)
    : RelayException(message, problem)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>The workspace's plan (<c>free</c>, <c>pro</c>…), when the relay named it.</summary>
    public string? Plan => Extension("plan") is { ValueKind: JsonValueKind.String } plan ? plan.GetString() : null;

    /// <summary>What ran out: <c>pushes</c> or <c>pulls</c> (monthly) or <c>requests</c> (per minute).</summary>
    public string? Meter => Extension("meter") is { ValueKind: JsonValueKind.String } meter ? meter.GetString() : null;

    public long? Limit => Extension("limit") is { ValueKind: JsonValueKind.Number } limit ? limit.GetInt64() : null;

    public long? Used => Extension("used") is { ValueKind: JsonValueKind.Number } used ? used.GetInt64() : null;

    /// <summary>When the exhausted quota or rate resets (UTC).</summary>
    public DateTimeOffset? ResetsAt => Extension("resets_at") is { ValueKind: JsonValueKind.String } at
        && DateTimeOffset.TryParse(at.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var resets)
            ? resets
            : null;

    private JsonElement? Extension(string name)
        => Problem?.Extensions is { } extensions && extensions.TryGetValue(name, out var value) ? value : null;
}

/// <summary>The relay could not be reached, or answered 5xx.</summary>
public sealed class RelayUnavailableException(string message, RelayProblem? problem = null, Exception? innerException = null)
    : RelayException(message, problem, innerException);

/// <summary>
/// An encrypted payload could not be decrypted: the URL has no <c>#key=</c>, the key is wrong, or the
/// token was tampered with. Never returns garbage instead.
/// </summary>
public sealed class RelayDecryptionException(string message, Exception? innerException = null)
    : RelayException(message, null, innerException);

/// <summary>An RFC 9457 problem document as the relay sent it.</summary>
public sealed record RelayProblem(string? Type, string? Title, int Status, string? Detail, string? Instance)
{
    /// <summary>The document's other members (e.g. <c>plan</c>, <c>limit</c>, <c>resets_at</c> of a quota problem).</summary>
    public IReadOnlyDictionary<string, JsonElement>? Extensions { get; init; }
}
