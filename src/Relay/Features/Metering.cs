using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Features;

/// <summary>
/// Plans' monthly quotas and per-minute rates. A metered request adds one to its workspace's counters in the
/// store — checked and added atomically, so counts are exact across relays sharing a Redis and survive
/// restarts — and answers 429 with Retry-After and the plan's limit once a counter is full. Counters without
/// a limit (the <c>unlimited</c> plan) are kept in memory and saved once a second, so counting costs an
/// unmetered request nothing. A request that fails (4xx/5xx) gives its monthly count back.
/// </summary>
internal sealed class Metering(IRelayStore store, IOptions<RelayOptions> options, TimeProvider clock, ILogger<Metering> logger, RelayTelemetry telemetry) : PeriodicService(clock)
{
    public const string Pushes = "pushes";
    public const string Pulls = "pulls";
    public const string Requests = "requests";
    private static readonly TimeSpan MonthlyLifetime = TimeSpan.FromDays(400);
    private static readonly TimeSpan RateLifetime = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<UsageKey, long> _pending = new();

    /// <summary>
    /// Held by a flush from taking the pending counts until the store has them, and by a read: otherwise a read
    /// in between found the flushed counts in neither place (a CI run saw an unlimited workspace's one push as 0).
    /// </summary>
    private readonly SemaphoreSlim _flushing = new(1, 1);

    public static string Month(DateTimeOffset now) => now.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    public static (DateTimeOffset Start, DateTimeOffset End) MonthBounds(DateTimeOffset now)
    {
        var start = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddMonths(1));
    }

    /// <summary>Counts one request of <paramref name="caller"/> (and one <paramref name="meter"/> operation, if given).</summary>
    public async Task<MeterTicket> ConsumeAsync(Caller caller, string? meter, CancellationToken cancellationToken)
    {
        var plan = options.Value.GetPlan(caller.Plan);
        var now = Clock.GetUtcNow();
        var ticket = new MeterTicket();
        if (plan.RequestsPerMinute > 0)
        {
            var minute = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);
            var grant = await store.ConsumeUsageAsync(new UsageKey(caller.Workspace, Requests, minute), plan.RequestsPerMinute, RateLifetime, cancellationToken).ConfigureAwait(false);
            var reset = TimeSpan.FromSeconds(60 - now.UtcDateTime.Second);
            ticket.Allowances.Add(new Allowance("per-minute", plan.RequestsPerMinute, 60, plan.RequestsPerMinute - grant.Used, reset));
            if (!grant.Allowed)
            {
                telemetry.QuotaRejections.Add(1, new KeyValuePair<string, object?>("meter", Requests));
                ticket.Rejection = Rejection(
                    "rate-limited",
                    "Too many requests",
                    $"Plan '{caller.Plan}' allows {plan.RequestsPerMinute:N0} requests a minute per workspace. Retry after {reset.TotalSeconds:0} s.",
                    caller.Plan,
                    Requests,
                    plan.RequestsPerMinute,
                    grant.Used,
                    now + reset);
                return ticket;
            }
        }

        if (meter is null)
        {
            return ticket;
        }

        var key = new UsageKey(caller.Workspace, meter, Month(now));
        var limit = meter == Pushes ? plan.MonthlyPushes : plan.MonthlyPulls;
        if (limit is not { } quota)
        {
            _pending.AddOrUpdate(key, 1, static (_, count) => count + 1);
            ticket.Pending = key;
            return ticket;
        }

        var used = await store.ConsumeUsageAsync(key, quota, MonthlyLifetime, cancellationToken).ConfigureAwait(false);
        var (start, end) = MonthBounds(now);
        ticket.Allowances.Add(new Allowance("monthly-" + meter, quota, (long)(end - start).TotalSeconds, quota - used.Used, end - now));
        if (!used.Allowed)
        {
            telemetry.QuotaRejections.Add(1, new KeyValuePair<string, object?>("meter", meter));
            ticket.Rejection = Rejection(
                "quota-exceeded",
                "Monthly quota exceeded",
                $"Plan '{caller.Plan}' allows {quota:N0} {meter} a month; this workspace has used {used.Used:N0}. The quota resets at {end:yyyy-MM-dd HH:mm} UTC; a larger plan raises it.",
                caller.Plan,
                meter,
                quota,
                used.Used,
                end);
            return ticket;
        }

        ticket.Counted = key;
        return ticket;
    }

    /// <summary>Gives back the monthly count of a request that failed.</summary>
    public async Task RefundAsync(MeterTicket ticket, CancellationToken cancellationToken)
    {
        if (ticket.Pending is { } pending)
        {
            _pending.AddOrUpdate(pending, -1, static (_, count) => count - 1);
        }
        else if (ticket.Counted is { } counted)
        {
            await store.AddUsageAsync([new(counted, -1)], MonthlyLifetime, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>This month's counts of a workspace (or of all), including what this relay has not saved yet.</summary>
    public async Task<IReadOnlyList<KeyValuePair<UsageKey, long>>> ReadAsync(string period, string? workspace, CancellationToken cancellationToken)
    {
        Dictionary<UsageKey, long> rows;
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            rows = (await store.ReadUsageAsync(period, workspace, cancellationToken).ConfigureAwait(false))
                .Where(r => r.Key.Meter != Requests)
                .ToDictionary(r => r.Key, r => r.Value);
            foreach (var (key, count) in _pending)
            {
                if (key.Period == period && (workspace is null || key.Workspace == workspace))
                {
                    rows[key] = rows.GetValueOrDefault(key) + count;
                }
            }
        }
        finally
        {
            _flushing.Release();
        }

        return [.. rows.OrderBy(r => r.Key.Workspace, StringComparer.Ordinal).ThenBy(r => r.Key.Meter, StringComparer.Ordinal)];
    }

    protected override TimeSpan Interval => TimeSpan.FromSeconds(1);

    protected override Task TickAsync(CancellationToken cancellationToken) => FlushAsync(cancellationToken);

    protected override void OnTickFailed(Exception exception) => Log.UsageFlushFailed(logger, exception.Message);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Saves the unlimited counters gathered in memory; on failure they stay for the next try.</summary>
    internal async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushPendingAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task FlushPendingAsync(CancellationToken cancellationToken)
    {
        var batch = new List<KeyValuePair<UsageKey, long>>();
        foreach (var key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out var count) && count != 0)
            {
                batch.Add(new(key, count));
            }
        }

        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            await store.AddUsageAsync(batch, MonthlyLifetime, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Kept for the next batch whatever went wrong: counting must never stop the relay.
            foreach (var (key, count) in batch)
            {
                _pending.AddOrUpdate(key, count, (_, current) => current + count);
            }

            Log.UsageFlushFailed(logger, ex.Message);
        }
    }

    private static ProblemHttpResult Rejection(string slug, string title, string detail, string plan, string meter, long limit, long used, DateTimeOffset resetsAt)
        => TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status429TooManyRequests,
            title: title,
            type: Problems.TypeBase + slug,
            extensions: new Dictionary<string, object?>
            {
                ["plan"] = plan,
                ["meter"] = meter,
                ["limit"] = limit,
                ["used"] = used,
                ["resets_at"] = resetsAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            });
}

/// <summary>What a metered request was counted against, and the headers it answers with.</summary>
internal sealed class MeterTicket
{
    public List<Allowance> Allowances { get; } = [];

    public ProblemHttpResult? Rejection { get; set; }

    public UsageKey? Counted { get; set; }

    public UsageKey? Pending { get; set; }

    /// <summary>
    /// <c>RateLimit-Policy</c> and <c>RateLimit</c> (IETF draft-ietf-httpapi-ratelimit-headers): each limit
    /// with its quota and window, and what remains with the seconds until it resets.
    /// </summary>
    public void WriteHeaders(HttpResponse response)
    {
        if (Allowances.Count == 0)
        {
            return;
        }

        var policy = new StringBuilder();
        var state = new StringBuilder();
        foreach (var allowance in Allowances)
        {
            var separator = policy.Length > 0 ? ", " : string.Empty;
            policy.Append(CultureInfo.InvariantCulture, $"{separator}\"{allowance.Name}\";q={allowance.Quota};w={allowance.WindowSeconds}");
            state.Append(CultureInfo.InvariantCulture, $"{separator}\"{allowance.Name}\";r={Math.Max(allowance.Remaining, 0)};t={(long)Math.Ceiling(allowance.ResetIn.TotalSeconds)}");
        }

        response.Headers["RateLimit-Policy"] = policy.ToString();
        response.Headers["RateLimit"] = state.ToString();
        if (Rejection is not null)
        {
            var exhausted = Allowances.Where(a => a.Remaining <= 0).Select(a => a.ResetIn).DefaultIfEmpty(TimeSpan.FromMinutes(1)).Max();
            response.Headers.RetryAfter = ((long)Math.Ceiling(exhausted.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
    }
}

internal sealed record Allowance(string Name, long Quota, long WindowSeconds, long Remaining, TimeSpan ResetIn);

internal static class MeteringEndpoints
{
    /// <summary>
    /// Meters the endpoint: one request against the plan's per-minute rate, and (for GET or POST) one
    /// <paramref name="meter"/> operation against its monthly quota, given back when the request fails.
    /// Requests for which <paramref name="uncounted"/> answers true count against the rate only.
    /// </summary>
    public static TBuilder Metered<TBuilder>(this TBuilder builder, string? meter = null, Func<HttpContext, bool>? uncounted = null)
        where TBuilder : IEndpointConventionBuilder
        => builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var counts = meter is not null && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsPost(http.Request.Method)) && uncounted?.Invoke(http) != true ? meter : null;
            var metering = http.RequestServices.GetRequiredService<Metering>();
            var ticket = await metering.ConsumeAsync(Caller.From(http.User), counts, http.RequestAborted).ConfigureAwait(false);
            ticket.WriteHeaders(http.Response);
            if (ticket.Rejection is { } rejection)
            {
                return rejection;
            }

            object? result;
            try
            {
                result = await next(context).ConfigureAwait(false);
            }
            catch
            {
                await metering.RefundAsync(ticket, CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            if (Failed(result))
            {
                await metering.RefundAsync(ticket, CancellationToken.None).ConfigureAwait(false);
            }

            return result;
        });

    private static bool Failed(object? result) => result switch
    {
        INestedHttpResult nested => Failed(nested.Result),
        IStatusCodeHttpResult { StatusCode: >= 400 } => true,
        _ => false,
    };

    /// <summary>GET /usage: the caller's workspace's counts and limits this month.</summary>
    public static void MapUsage(this IEndpointRouteBuilder app)
        => app.MapGet("/usage", async (HttpContext http, Metering metering, IRelayStore store, IOptions<RelayOptions> options, TimeProvider clock, CancellationToken cancellationToken) =>
        {
            var caller = Caller.From(http.User);
            var relay = options.Value;
            var plan = relay.GetPlan(caller.Plan);
            var now = clock.GetUtcNow();
            var period = Metering.Month(now);
            var counts = (await metering.ReadAsync(period, caller.Workspace, cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.Key.Meter, r => r.Value);
            var stored = await store.GetStoredBytesAsync(caller.Workspace, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(new UsageAnswer(
                caller.Workspace,
                caller.Plan,
                period,
                Metering.MonthBounds(now).End,
                new UsageMeter(counts.GetValueOrDefault(Metering.Pushes), plan.MonthlyPushes),
                new UsageMeter(counts.GetValueOrDefault(Metering.Pulls), plan.MonthlyPulls),
                new UsageMeter(stored, plan.MaxStoredBytes),
                plan.RequestsPerMinute > 0 ? plan.RequestsPerMinute : null,
                Math.Min(relay.MaxPayloadBytes, plan.MaxPayloadBytes ?? long.MaxValue),
                (long)Math.Min(relay.MaxTtl.TotalSeconds, (plan.MaxTtl ?? relay.MaxTtl).TotalSeconds)));
        }).RequireAuthorization();
}

/// <summary>GET /usage.</summary>
internal sealed record UsageAnswer(
    [property: System.Text.Json.Serialization.JsonPropertyName("workspace")] string Workspace,
    [property: System.Text.Json.Serialization.JsonPropertyName("plan")] string Plan,
    [property: System.Text.Json.Serialization.JsonPropertyName("period")] string Period,
    [property: System.Text.Json.Serialization.JsonPropertyName("resets_at")] DateTimeOffset ResetsAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("pushes")] UsageMeter Pushes,
    [property: System.Text.Json.Serialization.JsonPropertyName("pulls")] UsageMeter Pulls,
    [property: System.Text.Json.Serialization.JsonPropertyName("stored_bytes")] UsageMeter StoredBytes,
    [property: System.Text.Json.Serialization.JsonPropertyName("requests_per_minute")] int? RequestsPerMinute,
    [property: System.Text.Json.Serialization.JsonPropertyName("max_payload_bytes")] long MaxPayloadBytes,
    [property: System.Text.Json.Serialization.JsonPropertyName("max_ttl_seconds")] long MaxTtlSeconds);

internal sealed record UsageMeter(
    [property: System.Text.Json.Serialization.JsonPropertyName("used")] long Used,
    [property: System.Text.Json.Serialization.JsonPropertyName("limit")] long? Limit);
