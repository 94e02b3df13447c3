using System.Security.Claims;
using System.Text.Encodings.Web;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Auth;

/// <summary>
/// <c>Authorization: Bearer cr_live_…</c>: the key is hashed (SHA-256), looked up by hash, compared in
/// constant time, and cached briefly. Failures answer 401/403 as problem+json.
/// </summary>
internal sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    AccessControl access,
    FailedAuthThrottle throttle,
    IOptions<RelayOptions> relayOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string WritePolicy = "write";
    public const string ReadPolicy = "read";
    public const string WorkspaceClaim = "cr:workspace";
    public const string PlanClaim = "cr:plan";
    public const string ScopeClaim = "cr:scope";
    public const string ChannelsClaim = "cr:channels";
    public const string KeyHashClaim = "cr:key-hash";
    public const string ExpiresClaim = "cr:expires";
    private const string FailureItem = "cr:auth-failure";
    private const string ThrottledItem = "cr:auth-throttled";
    private const string KeyPresentedItem = "cr:key-presented";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header) && BrowserAuth.KeyFromSubprotocols(Request) is { } offered)
        {
            header = "Bearer " + offered; // a browser's WebSocket: the key came as a subprotocol
        }

        if (string.IsNullOrEmpty(header))
        {
            if (relayOptions.Value.Open.Enabled)
            {
                return OpenMode.Authenticate(relayOptions.Value.Open, SchemeName);
            }

            return Fail("No API key: send 'Authorization: Bearer cr_live_…' (set CONTEXTRELAY_API_KEY).");
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Fail("The Authorization header must be 'Bearer cr_live_…'.");
        }

        Context.Items[KeyPresentedItem] = true;
        if (throttle.BlockedFor(Context.Connection.RemoteIpAddress) is { } wait)
        {
            Context.Items[ThrottledItem] = wait;
            return AuthenticateResult.Fail("too many bad keys");
        }

        var key = header["Bearer ".Length..].Trim();
        if (!ApiKeys.IsWellFormed(key))
        {
            return Fail("That is not a ContextRelay API key: keys look like cr_live_ followed by 40 letters and digits.");
        }

        var grant = await access.FindAsync(ApiKeys.Hash(key), Context.RequestAborted).ConfigureAwait(false);
        if (grant is null)
        {
            return Fail("Unknown API key. Create one with 'contextrelay-relay keys create --workspace NAME'.");
        }

        var record = grant.Record;
        if (record.RevokedAt is not null)
        {
            return Fail("This API key was revoked. Ask the workspace owner for a new one.");
        }

        if (record.ExpiresAt is { } expires && expires <= DateTimeOffset.UtcNow)
        {
            return Fail($"This API key expired at {expires:yyyy-MM-dd HH:mm} UTC. Ask the workspace owner for a new one.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(grant.Principal, SchemeName));
    }

    /// <summary>The claims of a verified key (see <see cref="KeyGrant.Principal"/>).</summary>
    internal static ClaimsPrincipal CreatePrincipal(KeyGrant grant)
    {
        var record = grant.Record;
        List<Claim> claims =
        [
            new Claim(ClaimTypes.NameIdentifier, record.Id),
            new Claim(WorkspaceClaim, record.Workspace),
            new Claim(PlanClaim, grant.Plan),
            new Claim(ScopeClaim, record.Scope.ToString()),
            new Claim(KeyHashClaim, Convert.ToHexString(record.Hash)),
        ];
        if (record.Channels is not null)
        {
            claims.Add(new Claim(ChannelsClaim, record.Channels));
        }

        if (record.ExpiresAt is { } expiry)
        {
            claims.Add(new Claim(ExpiresClaim, expiry.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items[ThrottledItem] is TimeSpan wait)
        {
            var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
            Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.WriteAsync(
                Context,
                StatusCodes.Status429TooManyRequests,
                "too-many-bad-keys",
                "Too many bad API keys",
                $"This address presented too many unknown or invalid API keys in the last minute. Retry after {seconds} s with a valid key.");
        }

        var reason = Context.Items[FailureItem] as string ?? "This endpoint needs an API key: send 'Authorization: Bearer cr_live_…'.";
        if (Context.Items.ContainsKey(FailureItem) && Context.Items.ContainsKey(KeyPresentedItem))
        {
            throttle.RecordFailure(Context.Connection.RemoteIpAddress);
        }

        Log.KeyRejected(Logger, reason.Split(':')[0], Context.Connection.RemoteIpAddress?.ToString());
        Response.Headers.WWWAuthenticate = "Bearer realm=\"contextrelay\"";
        return Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", reason);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
        => Problems.WriteAsync(
            Context,
            StatusCodes.Status403Forbidden,
            "forbidden",
            "Forbidden",
            Caller.From(Context.User).Scope == KeyScope.PushOnly
                ? "This API key is push-only: it may push and publish but not pull, peek, delete, subscribe or read history. Use a key that may read."
                : "This API key is read-only: it may pull, peek and subscribe but not push, publish or delete. Use a read-write key.");

    private AuthenticateResult Fail(string reason)
    {
        Context.Items[FailureItem] = reason;
        return AuthenticateResult.Fail(reason);
    }
}
