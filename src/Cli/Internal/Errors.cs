namespace CtxRelay.Cli.Internal;

/// <summary>Turns an exception into the one line a user reads on stderr and the exit code a script tests.</summary>
internal static class Errors
{
    /// <param name="payloadAddress">The payload URL or id the command was given, if any.</param>
    public static (int ExitCode, string Message) Describe(Exception exception, RelaySettings settings, string? payloadAddress = null)
    {
        var relay = settings.BaseUrl;
        return exception switch
        {
            UsageException => (ExitCodes.Usage, exception.Message),
            CliException => (ExitCodes.Error, exception.Message),
            RelayAuthException when settings.ApiKey is null => (ExitCodes.Auth,
                $"CONTEXTRELAY_API_KEY is not set: export the key your relay printed at its first start (export CONTEXTRELAY_API_KEY=cr_live_…), pass --api-key, or create one with 'contextrelay-relay keys create --workspace NAME'."),
            RelayAuthException => (ExitCodes.Auth,
                $"{Sentence(exception.Message)} Check CONTEXTRELAY_API_KEY (or --api-key): it must be a live key of {relay}; 'contextrelay-relay keys list' shows them."),
            RelayForbiddenException => (ExitCodes.Auth, $"{Sentence(exception.Message)} Use a read-write key (this one is read-only)."),
            RelayNotFoundException => (ExitCodes.NotFound, Sentence(exception.Message) + OtherRelayHint(payloadAddress, relay)),
            RelayDecryptionException => (ExitCodes.Decryption, Sentence(exception.Message)),
            RelayPayloadTooLargeException => (ExitCodes.Limit, Sentence(exception.Message)),
            RelayQuotaException quota => (ExitCodes.Limit,
                $"{Sentence(quota.Message)}{(quota.RetryAfter is { } wait ? $" Retry in {Math.Ceiling(wait.TotalSeconds)} s." : string.Empty)}"),
            RelayUnavailableException => (ExitCodes.Error,
                $"{Sentence(exception.Message)} Is the relay running? Check CONTEXTRELAY_URL (or --url); it is {relay}."),
            RelayException => (ExitCodes.Error, Sentence(exception.Message)),
            ArgumentException argument => (ExitCodes.Usage, Sentence(StripParameter(argument))),
            IOException or UnauthorizedAccessException => (ExitCodes.Error, Sentence(exception.Message)),
            _ => (ExitCodes.Error, $"{Sentence(exception.Message)} ({exception.GetType().Name})"),
        };
    }

    /// <summary>
    /// A payload lives on the relay that stored it: when the URL names another relay than the one asked,
    /// that is the likelier cause of a 404 than expiry.
    /// </summary>
    private static string OtherRelayHint(string? payloadAddress, Uri relay)
    {
        if (!Uri.TryCreate(payloadAddress, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            return string.Empty;
        }

        var origin = url.GetLeftPart(UriPartial.Authority);
        return string.Equals(origin, relay.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase)
            ? string.Empty
            : $" The URL points at {origin} but this asked {relay.GetLeftPart(UriPartial.Authority)}: set CONTEXTRELAY_URL (or --url) to the relay that stored it.";
    }

    /// <summary>One line: newlines folded, ending with a full stop.</summary>
    private static string Sentence(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        return line.EndsWith('.') || line.EndsWith('?') || line.EndsWith('!') ? line : line + ".";
    }

    /// <summary>ArgumentException appends " (Parameter 'x')", which means nothing to a person at a shell.</summary>
    private static string StripParameter(ArgumentException exception)
        => exception.ParamName is { } name
            ? exception.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal)
            : exception.Message;
}
