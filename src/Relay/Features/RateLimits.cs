using System.Globalization;
using System.Threading.RateLimiting;
using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Internal;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Features;

/// <summary>Per-workspace request rate from the key's plan (per relay process); over it: 429 with Retry-After.</summary>
internal static class RateLimits
{
    public const string Policy = "workspace";

    public static IServiceCollection AddWorkspaceRateLimits(this IServiceCollection services)
        => services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, http =>
            {
                var workspace = http.User.FindFirst(ApiKeyAuthentication.WorkspaceClaim)?.Value;
                if (workspace is null)
                {
                    return RateLimitPartition.GetNoLimiter(string.Empty);
                }

                var plan = http.User.FindFirst(ApiKeyAuthentication.PlanClaim)?.Value ?? "default";
                var perMinute = http.RequestServices.GetRequiredService<IOptions<RelayOptions>>().Value.GetPlan(plan).RequestsPerMinute;
                return perMinute <= 0
                    ? RateLimitPartition.GetNoLimiter(workspace)
                    : RateLimitPartition.GetFixedWindowLimiter(workspace, _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = perMinute,
                        Window = TimeSpan.FromMinutes(1),
                        QueueLimit = 0,
                    });
            });
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                context.HttpContext.Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                await Problems.WriteAsync(
                    context.HttpContext,
                    StatusCodes.Status429TooManyRequests,
                    "rate-limited",
                    "Too many requests",
                    $"This workspace's plan allows a limited number of requests per minute. Retry after {Math.Ceiling(retryAfter.TotalSeconds)} s.").ConfigureAwait(false);
            };
        });
}
