using CtxRelay.Extensions.AI;

namespace CtxRelay;

/// <summary>
/// Where the relay's address and key come from, named in error texts so the model can tell the user what to fix:
/// the MCP server says <c>CONTEXTRELAY_API_KEY</c> in its configuration, an application says its options.
/// </summary>
internal sealed record RelaySetup
{
    public static RelaySetup Default { get; } = new();

    /// <summary>The setting that holds the API key, as the user knows it.</summary>
    public string ApiKeyName { get; init; } = "ContextRelayOptions.ApiKey";

    /// <summary>The setting that holds the relay's address.</summary>
    public string UrlName { get; init; } = "ContextRelayOptions.BaseUrl";

    /// <summary>Who talks to the relay, in "… talks to the relay at …".</summary>
    public string Speaker { get; init; } = "this application";

    public string MissingKeyFix { get; init; } =
        "Set ContextRelayOptions.ApiKey (AddContextRelay() reads CONTEXTRELAY_API_KEY) to a cr_live_ key of your workspace "
        + "in the application's configuration and restart it";

    public string WrongKeyFix { get; init; } =
        "Set ContextRelayOptions.ApiKey in the application's configuration to a valid cr_live_ key of your workspace and restart it";

    public string UrlFix { get; init; } = "fix ContextRelayOptions.BaseUrl in the application's configuration";

    /// <summary>What is wrong with the configuration, in words a model can pass on; null when usable.</summary>
    public string? ConfigurationError { get; init; }
}

/// <summary>
/// Turns the SDK's exceptions into <see cref="ContextRelayToolException"/>s whose text tells the model what happened
/// and what to do next; a bare exception would reach the model as "an error occurred" or not at all.
/// </summary>
internal sealed class ToolErrors(ContextRelayOptions options, RelaySetup setup)
{
    private static string Until(DateTimeOffset when)
    {
        var left = when - DateTimeOffset.UtcNow;
        return left.TotalDays >= 1 ? $"{Math.Floor(left.TotalDays):0} days" : left.TotalHours >= 1 ? $"{Math.Floor(left.TotalHours):0} hours" : $"{Math.Max(1, Math.Ceiling(left.TotalMinutes)):0} minutes";
    }

    public ContextRelayToolException Translate(RelayException exception, string? url = null)
    {
        var relay = options.BaseUrl.ToString().TrimEnd('/');
        var detail = exception.Problem?.Detail ?? exception.Problem?.Title;
        var text = exception switch
        {
            RelayAuthException when string.IsNullOrWhiteSpace(options.ApiKey) =>
                $"{setup.ApiKeyName} is not set, so the relay at {relay} refused the call. {setup.MissingKeyFix} "
                + "(the user has to do this; you cannot fix it from here).",
            RelayAuthException =>
                $"The relay at {relay} rejected {setup.ApiKeyName} ({detail ?? "unknown, malformed or revoked key"}). "
                + $"{setup.WrongKeyFix} (the user has to do this; you cannot fix it from here).",
            RelayForbiddenException =>
                $"The key in {setup.ApiKeyName} is valid but not allowed to do this: {exception.Message}. "
                + "Ask the user for a key with that permission.",
            RelayNotFoundException =>
                $"No payload at {url ?? "that address"}: it has expired (payloads live 24 h by default), was deleted, belongs to "
                + "another workspace, or never existed. Ask the sender to push it again and hand you the new URL."
                + OtherRelayHint(url),
            RelayPayloadTooLargeException =>
                $"The relay refused the payload as too large ({detail ?? exception.Message}). Split the text into smaller parts "
                + "and push each (say 'part 1 of N' in summary), or push a shorter version.",
            RelayQuotaException { Plan: { } plan, Meter: { } meter, Limit: { } limit, ResetsAt: { } resets } when meter != "requests" =>
                $"The workspace's plan '{plan}' allows {limit:N0} {(limit == 1 ? meter switch { "pushes" => "push", "pulls" => "pull", _ => meter } : meter)} a month and {(limit == 1 ? "it is" : "they are")} used up, so the relay refused this call. "
                + $"The quota resets at {resets.UtcDateTime:yyyy-MM-dd HH:mm} UTC (in {Until(resets)}). Do not retry before then: "
                + "tell the user, who can wait or move the workspace to a larger plan.",
            RelayQuotaException quota =>
                $"The workspace is over its quota on the relay ({detail ?? exception.Message}). "
                + (quota.RetryAfter is { } after ? $"Try again in {Math.Ceiling(after.TotalSeconds)} s." : "Try again later.")
                + " Do not retry in a tight loop.",
            RelayUnavailableException when exception.Problem is null =>
                $"Cannot reach the relay at {setup.UrlName}={relay} ({exception.GetBaseException().Message}). "
                + $"Is the relay running there? Start it, or {setup.UrlFix}.",
            RelayUnavailableException =>
                $"The relay at {setup.UrlName}={relay} failed ({exception.Message}). Try again in a moment; "
                + "if it keeps failing, the relay needs attention.",
            RelayDecryptionException =>
                $"Cannot decrypt this payload: {exception.Message}"
                + (exception.Message.Contains("#key=", StringComparison.Ordinal)
                    ? string.Empty
                    : " Pass the whole URL exactly as the sender handed it on, including its #key=… fragment.")
                + " If you have that whole URL, ask the sender to push again.",
            _ => $"The relay refused the call: {exception.Message}",
        };
        return new ContextRelayToolException(text, exception);
    }

    /// <summary>
    /// Runs one call to the relay: refuses it up front when the configuration is unusable, and translates what
    /// the SDK throws (a <see cref="RelayException"/>, possibly wrapped, or an <see cref="ArgumentException"/>
    /// for a string that is not a payload URL) into a <see cref="ContextRelayToolException"/> the model can act on.
    /// </summary>
    public async Task<T> GuardAsync<T>(string? url, Func<Task<T>> call)
    {
        if (setup.ConfigurationError is { } problem)
        {
            throw new ContextRelayToolException(problem);
        }

        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (Find(ex) is { } relayException)
        {
            throw Translate(relayException, url);
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

    public static ContextRelayToolException NotAUrl(string url)
        => new($"'{url}' is not a ContextRelay URL. Pass the URL exactly as you received it (…/pull/<id>, with its #key=… "
            + "fragment when it has one), or a bare payload id.");

    private string OtherRelayHint(string? url)
    {
        if (url is null || !Uri.TryCreate(url.Trim(), UriKind.Absolute, out var given) || given.Scheme is not ("http" or "https"))
        {
            return string.Empty;
        }

        var configured = options.BaseUrl;
        return string.Equals(given.Host, configured.Host, StringComparison.OrdinalIgnoreCase) && given.Port == configured.Port
            ? string.Empty
            : $" Note: this URL points at {given.Scheme}://{given.Authority}, but {setup.Speaker} talks to the relay at "
                + $"{setup.UrlName}={configured.ToString().TrimEnd('/')}; a payload lives only on the relay it was pushed to.";
    }
}
