using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Auth;

/// <summary>Who is calling: the workspace and plan of the presented key.</summary>
internal sealed record Caller(string Workspace, string Plan, KeyScope Scope, string KeyId)
{
    public static Caller From(ClaimsPrincipal user) => new(
        user.FindFirstValue(ApiKeyAuthentication.WorkspaceClaim) ?? throw new InvalidOperationException("Endpoint requires authentication."),
        user.FindFirstValue(ApiKeyAuthentication.PlanClaim) ?? "default",
        Enum.Parse<KeyScope>(user.FindFirstValue(ApiKeyAuthentication.ScopeClaim) ?? nameof(KeyScope.ReadOnly)),
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? string.Empty);
}

/// <summary>
/// <c>Authorization: Bearer cr_live_…</c>: the key is hashed (SHA-256), looked up by hash, compared in
/// constant time, and cached briefly. Failures answer 401/403 as problem+json.
/// </summary>
internal sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IRelayStore store,
    IMemoryCache cache,
    IOptions<RelayOptions> relayOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string WritePolicy = "write";
    public const string WorkspaceClaim = "cr:workspace";
    public const string PlanClaim = "cr:plan";
    public const string ScopeClaim = "cr:scope";
    private const string FailureItem = "cr:auth-failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
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

        var key = header["Bearer ".Length..].Trim();
        if (!ApiKeys.IsWellFormed(key))
        {
            return Fail("That is not a ContextRelay API key: keys look like cr_live_ followed by 40 letters and digits.");
        }

        var hash = ApiKeys.Hash(key);
        var cacheKey = "key:" + Convert.ToHexString(hash);
        if (!cache.TryGetValue(cacheKey, out ApiKeyRecord? record))
        {
            record = await store.FindKeyAsync(hash, Context.RequestAborted).ConfigureAwait(false);
            var duration = relayOptions.Value.KeyCacheDuration;
            if (record is not null && duration > TimeSpan.Zero)
            {
                cache.Set(cacheKey, record, duration);
            }
        }

        if (record is null || !CryptographicOperations.FixedTimeEquals(record.Hash, hash))
        {
            return Fail("Unknown API key. Create one with 'contextrelay-relay keys create --workspace NAME'.");
        }

        if (record.RevokedAt is not null)
        {
            return Fail("This API key was revoked. Ask the workspace owner for a new one.");
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, record.Id),
                new Claim(WorkspaceClaim, record.Workspace),
                new Claim(PlanClaim, record.Plan),
                new Claim(ScopeClaim, record.Scope.ToString()),
            ],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var reason = Context.Items[FailureItem] as string ?? "This endpoint needs an API key: send 'Authorization: Bearer cr_live_…'.";
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
            "This API key is read-only: it may pull, peek and subscribe but not push, publish or delete. Use a read-write key.");

    private AuthenticateResult Fail(string reason)
    {
        Context.Items[FailureItem] = reason;
        return AuthenticateResult.Fail(reason);
    }
}
