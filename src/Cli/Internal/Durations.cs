using System.Globalization;
using System.Text.RegularExpressions;

namespace CtxRelay.Cli.Internal;

/// <summary>Parses <c>--ttl</c>: seconds (<c>3600</c>) or units (<c>90s</c>, <c>30m</c>, <c>1h</c>, <c>7d</c>, <c>1h30m</c>).</summary>
internal static partial class Durations
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var value = text.Trim().ToLowerInvariant();
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            duration = TimeSpan.FromSeconds(seconds);
            return seconds > 0;
        }

        var match = Parts().Match(value);
        if (!match.Success)
        {
            return false;
        }

        foreach (Capture part in match.Groups["part"].Captures)
        {
            var amount = long.Parse(part.Value[..^1], CultureInfo.InvariantCulture);
            duration += part.Value[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            };
        }

        return duration > TimeSpan.Zero;
    }

    public static string Format(TimeSpan duration)
        => duration switch
        {
            { TotalDays: >= 1 } => $"{(int)duration.TotalDays}d {duration.Hours}h",
            { TotalHours: >= 1 } => $"{(int)duration.TotalHours}h {duration.Minutes}m",
            { TotalMinutes: >= 1 } => $"{(int)duration.TotalMinutes}m {duration.Seconds}s",
            _ => $"{Math.Max(0, (int)duration.TotalSeconds)}s",
        };

    [GeneratedRegex(@"^(?<part>\d{1,9}[smhd])+$", RegexOptions.CultureInvariant)]
    private static partial Regex Parts();
}
