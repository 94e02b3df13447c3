using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;

namespace CtxRelay.Relay.Auth;

/// <summary>Open mode: the identity of key-less requests, and the refusal to expose it beyond loopback.</summary>
internal static class OpenMode
{
    public const string KeyId = "open";

    public static AuthenticateResult Authenticate(OpenModeOptions open, string scheme)
    {
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, KeyId),
                new Claim(ApiKeyAuthentication.WorkspaceClaim, open.Workspace),
                new Claim(ApiKeyAuthentication.PlanClaim, open.Plan),
                new Claim(ApiKeyAuthentication.ScopeClaim, nameof(Storage.KeyScope.ReadWrite)),
            ],
            scheme);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), scheme));
    }

    /// <summary>
    /// Throws when open mode would listen on a non-loopback address (<c>urls</c> or Kestrel endpoints)
    /// without <see cref="OpenModeOptions.AllowRemote"/>.
    /// </summary>
    public static void EnsureAllowed(IConfiguration configuration, OpenModeOptions open)
    {
        if (!open.Enabled || open.AllowRemote)
        {
            return;
        }

        var urls = (configuration[WebHostDefaults.ServerUrlsKey] ?? RelayApp.DefaultUrl)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        foreach (var url in urls)
        {
            if (!IsLoopback(url))
            {
                throw new InvalidOperationException(
                    $"open mode (no API key needed) refuses to listen on {url}: anyone who reaches it could use the relay. "
                    + "Listen on 127.0.0.1 only, or pass --open-allow-remote (Relay:Open:AllowRemote=true) if that is what you want.");
            }
        }
    }

    private static bool IsLoopback(string url)
    {
        var host = BindingAddress.Parse(url).Host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
               || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }
}
