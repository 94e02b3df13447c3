using Microsoft.AspNetCore.Http.HttpResults;

namespace CtxRelay.Relay.Internal;

/// <summary>The relay's RFC 9457 problem documents; the type names the case, the detail says what to do.</summary>
internal static class Problems
{
    public const string TypeBase = "https://contextrelay.dev/problems/";

    public static ProblemHttpResult BadRequest(string detail) => Create(StatusCodes.Status400BadRequest, "invalid-request", "Invalid request", detail);

    public static ProblemHttpResult NotFound(string what = "payload") => Create(
        StatusCodes.Status404NotFound,
        "not-found",
        "Not found",
        $"No {what} with this id in your workspace. It may have expired, been deleted, or never existed; ask the sender to push it again.");

    public static ProblemHttpResult TooLarge(long limit) => Create(
        StatusCodes.Status413PayloadTooLarge,
        "payload-too-large",
        "Payload too large",
        $"The payload is larger than this relay accepts ({limit:N0} bytes). Split it, or compress it before pushing.");

    public static ProblemHttpResult StorageQuota(long used, long limit) => Create(
        StatusCodes.Status429TooManyRequests,
        "storage-quota-exceeded",
        "Storage quota exceeded",
        $"This workspace holds {used:N0} of its {limit:N0} bytes of live payloads. Delete payloads you no longer need or wait until they expire.");

    public static ProblemHttpResult Forbidden(string detail) => Create(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", detail);

    public static ProblemHttpResult UpgradeRequired() => Create(
        StatusCodes.Status426UpgradeRequired,
        "upgrade-required",
        "WebSocket upgrade required",
        "This endpoint is a WebSocket: connect with a WebSocket client (ws:// or wss://) and an Authorization header.");

    public static ProblemHttpResult Create(int status, string slug, string title, string detail)
        => TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypeBase + slug);

    /// <summary>Writes a problem directly, for middleware that runs outside an endpoint (auth, rate limiting).</summary>
    public static Task WriteAsync(HttpContext http, int status, string slug, string title, string detail)
    {
        http.Response.StatusCode = status;
        return Create(status, slug, title, detail).ExecuteAsync(http);
    }
}
