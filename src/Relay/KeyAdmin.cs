using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Storage;

namespace CtxRelay.Relay;

/// <summary>What a new key may do: its workspace, plan, scope, channel patterns and expiry.</summary>
internal sealed record KeySpec(string Workspace, string? Plan = null, KeyScope Scope = KeyScope.ReadWrite, string? Channels = null, DateTimeOffset? ExpiresAt = null);

/// <summary>What the <c>keys</c> commands and the first start of <c>serve</c> do.</summary>
internal static class KeyAdmin
{
    public const string DevWorkspace = "dev";

    public static Task<string> CreateAsync(IRelayStore store, string workspace, string plan, bool readOnly, CancellationToken cancellationToken)
        => CreateAsync(store, new KeySpec(workspace, plan, readOnly ? KeyScope.ReadOnly : KeyScope.ReadWrite), cancellationToken);

    /// <summary>Creates a key as <paramref name="spec"/> says and returns it (the store keeps only its hash).</summary>
    public static async Task<string> CreateAsync(IRelayStore store, KeySpec spec, CancellationToken cancellationToken)
    {
        if (!ApiKeys.IsValidWorkspaceName(spec.Workspace))
        {
            throw new ArgumentException($"'{spec.Workspace}' is not a valid workspace name: use 1–64 letters, digits, '-', '_' or '.'.");
        }

        string? channels = null;
        if (spec.Channels is not null && (channels = ChannelPatterns.Normalize(spec.Channels)) is null)
        {
            throw new ArgumentException($"'{spec.Channels}' are not valid channel patterns. {ChannelPatterns.Rule}");
        }

        var now = DateTimeOffset.UtcNow;
        if (spec.ExpiresAt <= now)
        {
            throw new ArgumentException("The key's expiry is in the past: give a duration (30d, 12h, 90m) or a future date.");
        }

        var key = ApiKeys.Generate();
        var record = ApiKeys.CreateRecord(key, spec.Workspace, spec.Plan ?? "default", spec.Scope, now) with { Channels = channels, ExpiresAt = spec.ExpiresAt };
        await store.CreateKeyAsync(record, cancellationToken).ConfigureAwait(false);
        return key;
    }

    /// <summary>
    /// An expiry as the command line takes it: a duration from now (<c>30d</c>, <c>12h</c>, <c>90m</c>, <c>3600s</c>)
    /// or a date and time (<c>2027-01-31</c>, <c>2027-01-31T12:00:00Z</c>; UTC unless an offset is given).
    /// </summary>
    public static DateTimeOffset ParseExpiry(string text, DateTimeOffset now)
    {
        text = text.Trim();
        if (text.Length > 1 && long.TryParse(text[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var amount) && amount > 0)
        {
            TimeSpan? span = char.ToLowerInvariant(text[^1]) switch
            {
                'd' => TimeSpan.FromDays(amount),
                'h' => TimeSpan.FromHours(amount),
                'm' => TimeSpan.FromMinutes(amount),
                's' => TimeSpan.FromSeconds(amount),
                _ => null,
            };
            if (span is { } duration)
            {
                return now + duration;
            }
        }

        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
        {
            return at;
        }

        throw new ArgumentException($"'{text}' is not an expiry: give a duration (30d, 12h, 90m, 3600s) or a date (2027-01-31 or 2027-01-31T12:00:00Z).");
    }

    /// <summary>
    /// With no keys in the store yet, creates the <c>dev</c> workspace — with <c>CONTEXTRELAY_API_KEY</c>
    /// as its key when that is set — and returns the key to print; null when keys exist already.
    /// </summary>
    public static async Task<(string Key, bool FromEnvironment)?> BootstrapAsync(IRelayStore store, string? environmentKey, CancellationToken cancellationToken)
    {
        if ((await store.ListKeysAsync(cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            return null;
        }

        if (!string.IsNullOrWhiteSpace(environmentKey))
        {
            environmentKey = environmentKey.Trim();
            if (!ApiKeys.IsWellFormed(environmentKey))
            {
                throw new ArgumentException("CONTEXTRELAY_API_KEY is set but is not a valid key: it must be cr_live_ followed by at least 32 letters and digits. Unset it to have one generated.");
            }

            var record = ApiKeys.CreateRecord(environmentKey, DevWorkspace, "default", KeyScope.ReadWrite, DateTimeOffset.UtcNow);
            try
            {
                await store.CreateKeyAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested is false)
            {
                if (await store.FindKeyAsync(record.Hash, cancellationToken).ConfigureAwait(false) is null)
                {
                    throw;
                }

                return null; // another relay sharing this store bootstrapped the same key first
            }

            return (environmentKey, true);
        }

        return (await CreateAsync(store, DevWorkspace, "default", readOnly: false, cancellationToken).ConfigureAwait(false), false);
    }
}
