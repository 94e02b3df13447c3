using ModelContextProtocol;

namespace CtxRelay.Mcp.Internal;

/// <summary>
/// Turns the SDK's exceptions into <see cref="McpException"/>s whose text tells the model what happened
/// and what to do next. The MCP SDK sends an McpException's message back as the tool result with
/// <c>isError: true</c>; any other exception would reach the model as a bare "an error occurred".
/// </summary>
internal static class RelayErrors
{
    public static McpException Translate(RelayException exception, RelaySettings settings, string? url = null)
    {
        var relay = settings.Options.BaseUrl.ToString().TrimEnd('/');
        var detail = exception.Problem?.Detail ?? exception.Problem?.Title;
        var text = exception switch
        {
            RelayAuthException when !settings.HasApiKey =>
                $"{RelaySettings.ApiKeyVariable} is not set, so the relay at {relay} refused the call. Add "
                + $"{RelaySettings.ApiKeyVariable}=<a cr_live_ key of your workspace> to the env of this MCP server's configuration "
                + "and restart the server (the user has to do this; you cannot fix it from here).",
            RelayAuthException =>
                $"The relay at {relay} rejected {RelaySettings.ApiKeyVariable} ({detail ?? "unknown, malformed or revoked key"}). "
                + $"Set {RelaySettings.ApiKeyVariable} in this MCP server's configuration to a valid cr_live_ key of your workspace "
                + "and restart the server (the user has to do this; you cannot fix it from here).",
            RelayForbiddenException =>
                $"The key in {RelaySettings.ApiKeyVariable} is valid but not allowed to do this: {exception.Message}. "
                + "Ask the user for a key with that permission.",
            RelayNotFoundException =>
                $"No payload at {url ?? "that address"}: it has expired (payloads live 24 h by default), was deleted, belongs to "
                + "another workspace, or never existed. Ask the sender to push it again and hand you the new URL."
                + OtherRelayHint(url, settings),
            RelayPayloadTooLargeException =>
                $"The relay refused the payload as too large ({detail ?? exception.Message}). Split the text into smaller parts "
                + "and push each (say 'part 1 of N' in summary), or push a shorter version.",
            RelayQuotaException quota =>
                $"The workspace is over its quota on the relay ({detail ?? exception.Message}). "
                + (quota.RetryAfter is { } after ? $"Try again in {Math.Ceiling(after.TotalSeconds)} s." : "Try again later.")
                + " Do not retry in a tight loop.",
            RelayUnavailableException when exception.Problem is null =>
                $"Cannot reach the relay at {RelaySettings.UrlVariable}={relay} ({exception.GetBaseException().Message}). "
                + $"Is the relay running there? Start it, or fix {RelaySettings.UrlVariable} in this MCP server's configuration.",
            RelayUnavailableException =>
                $"The relay at {RelaySettings.UrlVariable}={relay} failed ({exception.Message}). Try again in a moment; "
                + "if it keeps failing, the relay needs attention.",
            RelayDecryptionException =>
                $"Cannot decrypt this payload: {exception.Message}"
                + (exception.Message.Contains("#key=", StringComparison.Ordinal)
                    ? string.Empty
                    : " Pass the whole URL exactly as the sender handed it on, including its #key=… fragment.")
                + " If you have that whole URL, ask the sender to push again.",
            _ => $"The relay refused the call: {exception.Message}",
        };
        return new McpException(text, exception);
    }

    /// <summary>
    /// Runs one call to the relay: refuses it up front when the configuration is unusable, and translates what
    /// the SDK throws (a <see cref="RelayException"/>, possibly wrapped, or an <see cref="ArgumentException"/>
    /// for a string that is not a payload URL) into an <see cref="McpException"/> the model can act on.
    /// </summary>
    public static async Task<T> GuardAsync<T>(RelaySettings settings, string? url, Func<Task<T>> call)
    {
        if (settings.ConfigurationError is { } problem)
        {
            throw new McpException(problem);
        }

        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (Find(ex) is { } relayException)
        {
            throw Translate(relayException, settings, url);
        }
        catch (ArgumentException) when (url is not null)
        {
            throw NotAUrl(url);
        }
    }

    /// <summary>The first <see cref="RelayException"/> in an exception and its inner exceptions.</summary>
    public static RelayException? Find(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is RelayException relayException)
            {
                return relayException;
            }
        }

        return null;
    }

    public static McpException NotAUrl(string url)
        => new($"'{url}' is not a ContextRelay URL. Pass the URL exactly as you received it (…/pull/<id>, with its #key=… "
            + "fragment when it has one), or a bare payload id.");

    private static string OtherRelayHint(string? url, RelaySettings settings)
    {
        if (url is null || !Uri.TryCreate(url.Trim(), UriKind.Absolute, out var given) || given.Scheme is not ("http" or "https"))
        {
            return string.Empty;
        }

        var configured = settings.Options.BaseUrl;
        return string.Equals(given.Host, configured.Host, StringComparison.OrdinalIgnoreCase) && given.Port == configured.Port
            ? string.Empty
            : $" Note: this URL points at {given.Scheme}://{given.Authority}, but this server talks to the relay at "
                + $"{RelaySettings.UrlVariable}={configured.ToString().TrimEnd('/')}; a payload lives only on the relay it was pushed to.";
    }
}
