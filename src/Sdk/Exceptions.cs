using System.Net;

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

/// <summary>429: the workspace is over its rate or storage quota. <see cref="RetryAfter"/> says when to try again.</summary>
public sealed class RelayQuotaException(string message, RelayProblem? problem = null, TimeSpan? retryAfter = null)
    : RelayException(message, problem)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
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
public sealed record RelayProblem(string? Type, string? Title, int Status, string? Detail, string? Instance);
