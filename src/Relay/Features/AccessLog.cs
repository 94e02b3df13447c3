using System.Diagnostics;
using CtxRelay.Relay.Auth;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Features;

/// <summary>
/// One Information line per request — method, path, status, bytes out, milliseconds, workspace — and nothing
/// else per request at Information. The query string is never logged (payloads and keys never are);
/// <c>Relay:AccessLog=false</c> turns it off.
/// </summary>
internal static partial class AccessLog
{
    public const string Category = "CtxRelay.Relay.Access";

    public static IApplicationBuilder UseAccessLog(this IApplicationBuilder app)
    {
        if (!app.ApplicationServices.GetRequiredService<IOptions<RelayOptions>>().Value.AccessLog)
        {
            return app;
        }

        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (http, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(http).ConfigureAwait(false);
            }
            finally
            {
                if (logger.IsEnabled(LogLevel.Information))
                {
                    var workspace = http.User.FindFirst(ApiKeyAuthentication.WorkspaceClaim)?.Value ?? "-";
                    Request(
                        logger,
                        http.Request.Method,
                        http.Request.PathBase + http.Request.Path,
                        http.Response.StatusCode,
                        http.Response.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
                        Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                        workspace);
                }
            }
        });
    }

    [LoggerMessage(100, LogLevel.Information, "{Method} {Path} {Status} {Bytes} {ElapsedMs:0.0}ms {Workspace}")]
    private static partial void Request(ILogger logger, string method, string path, int status, string bytes, double elapsedMs, string workspace);
}
