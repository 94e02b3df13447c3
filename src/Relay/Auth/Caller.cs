using System.Globalization;
using System.Security.Claims;
using CtxRelay.Relay.Storage;

namespace CtxRelay.Relay.Auth;

/// <summary>Who is calling: the workspace and plan of the presented key, and what the key is limited to.</summary>
internal sealed record Caller(string Workspace, string Plan, KeyScope Scope, string KeyId, string? Channels = null, string? KeyHash = null, DateTimeOffset? ExpiresAt = null)
{
    public static Caller From(ClaimsPrincipal user) => new(
        user.FindFirstValue(ApiKeyAuthentication.WorkspaceClaim) ?? throw new InvalidOperationException("Endpoint requires authentication."),
        user.FindFirstValue(ApiKeyAuthentication.PlanClaim) ?? RelayOptions.UnlimitedPlan,
        Enum.Parse<KeyScope>(user.FindFirstValue(ApiKeyAuthentication.ScopeClaim) ?? nameof(KeyScope.ReadOnly)),
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? string.Empty,
        user.FindFirstValue(ApiKeyAuthentication.ChannelsClaim),
        user.FindFirstValue(ApiKeyAuthentication.KeyHashClaim),
        user.FindFirstValue(ApiKeyAuthentication.ExpiresClaim) is { } expires
            ? DateTimeOffset.Parse(expires, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)
            : null);

    /// <summary>
    /// Null when the key may use <paramref name="channel"/> (null: a payload without a channel); otherwise
    /// the 403 detail.
    /// </summary>
    public string? ChannelRefusal(string? channel)
        => Channels is null || (channel is not null && ChannelPatterns.Matches(Channels, channel))
            ? null
            : channel is null
                ? $"This API key is limited to the channels {Channels}: name one of them (channel=…); payloads without a channel are outside its scope."
                : $"This API key is limited to the channels {Channels}; '{channel}' is not one of them. Use a key for that channel.";
}

/// <summary>
/// The channel patterns of a limited key: a comma-separated list of channel names, where <c>*</c> matches any
/// run of characters (<c>research-*</c>, <c>*-alerts</c>, <c>team-*-done</c>).
/// </summary>
internal static class ChannelPatterns
{
    public const string Rule = "Channel patterns are channel names separated by commas, where * matches any characters (e.g. research-*,alerts).";

    /// <summary>The patterns normalized (trimmed, de-duplicated), or null when they are invalid.</summary>
    public static string? Normalize(string patterns)
    {
        var parts = patterns.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray();
        if (parts.Length == 0 || parts.Any(p => !Features.Channels.IsValidName(p.Replace('*', 'a'))))
        {
            return null;
        }

        return string.Join(',', parts);
    }

    public static bool Matches(string patterns, string channel)
    {
        foreach (var range in patterns.AsSpan().Split(','))
        {
            if (Glob(patterns.AsSpan()[range], channel))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whole-string match where <c>*</c> matches any run of characters (greedy with backtracking).</summary>
    private static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (p < pattern.Length && pattern[p] == text[t])
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
