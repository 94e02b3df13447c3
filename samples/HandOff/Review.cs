using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CtxRelay.Samples;

namespace CtxRelay.Samples.HandOff;

/// <summary>What the two models are asked, and their scripted stand-ins.</summary>
internal static partial class Review
{
    public const string ReviewerInstructions = """
        You review a unified diff. Reply with one finding per line and nothing else, each exactly:
        - [high|medium|low] <file>:<line>: <what is wrong and why>
        high = security or data loss, medium = a bug or a blocking call, low = style or leftovers.
        """;

    public const string TicketWriterInstructions = """
        Turn every finding of this code review into one ticket. Reply with one ticket per line and nothing else, each exactly:
        TICKET-<n> [<severity of the finding>] <imperative title naming the file and line>: <the finding>
        """;

    /// <summary>The diff reviewed when no <c>--diff</c> file is given.</summary>
    public const string ExampleDiff = """
        diff --git a/src/Auth/TokenService.cs b/src/Auth/TokenService.cs
        --- a/src/Auth/TokenService.cs
        +++ b/src/Auth/TokenService.cs
        @@ -10,6 +10,12 @@ public sealed class TokenService
             private readonly HttpClient _http;
        +    private const string ClientSecret = "s3cr3t-for-now";
        +
             public string Refresh(string token)
             {
        -        return RefreshAsync(token).GetAwaiter().GetResult();
        +        var result = RefreshAsync(token).Result;
        +        try { Audit(token); } catch { }
        +        // TODO: cache refreshed tokens
        +        return result;
             }
        """;

    /// <summary>Flags added lines by simple rules — enough to make a review whose findings come from the diff.</summary>
    public static readonly ScriptedChatClient StandInReviewer = new("reviewer", diff =>
    {
        var review = new StringBuilder();
        string file = "?";
        var line = 0;
        foreach (var text in diff.Split('\n'))
        {
            if (text.StartsWith("+++ ", StringComparison.Ordinal))
            {
                file = text[4..].Trim().TrimStart('b', '/');
            }
            else if (HunkHeader().Match(text) is { Success: true } hunk)
            {
                line = int.Parse(hunk.Groups[1].Value, CultureInfo.InvariantCulture);
            }
            else if (text.StartsWith('+'))
            {
                if (Flag(text[1..]) is { } finding)
                {
                    review.Append(CultureInfo.InvariantCulture, $"- [{finding.Severity}] {file}:{line}: {finding.Why}: `{text[1..].Trim()}`\n");
                }

                line++;
            }
            else if (!text.StartsWith('-'))
            {
                line++;
            }
        }

        return review.Length > 0 ? review.ToString() : "No findings.";
    });

    /// <summary>One ticket per finding line of the review it is given.</summary>
    public static readonly ScriptedChatClient StandInTicketWriter = new("ticket-writer", review =>
        string.Join('\n', Finding.ParseAll(review).Select((f, i) => $"TICKET-{i + 1} [{f.Severity}] Fix {f.Location}: {f.Text}")));

    private static (string Severity, string Why)? Flag(string code)
    {
        if (code.Contains("secret", StringComparison.OrdinalIgnoreCase) || code.Contains("password", StringComparison.OrdinalIgnoreCase))
        {
            return ("high", "hard-coded credential");
        }

        if (code.Contains(".Result", StringComparison.Ordinal) || code.Contains(".Wait()", StringComparison.Ordinal))
        {
            return ("medium", "blocks a thread on async work");
        }

        if (EmptyCatch().IsMatch(code))
        {
            return ("medium", "exception swallowed");
        }

        return code.Contains("TODO", StringComparison.Ordinal) ? ("low", "unfinished TODO") : null;
    }

    [GeneratedRegex(@"^@@ -\d+(?:,\d+)? \+(\d+)")]
    private static partial Regex HunkHeader();

    [GeneratedRegex(@"catch\s*(\([^)]*\))?\s*\{\s*\}")]
    private static partial Regex EmptyCatch();
}

/// <summary>One line of a review: <c>- [high] src/File.cs:12: what is wrong</c>.</summary>
internal sealed partial record Finding(string Severity, string Location, string Text)
{
    public static IReadOnlyList<Finding> ParseAll(string review)
        => [.. review.Split('\n').Select(l => Line().Match(l)).Where(m => m.Success)
            .Select(m => new Finding(m.Groups[1].Value.ToLowerInvariant(), m.Groups[2].Value, m.Groups[3].Value.Trim()))];

    public static SeverityCounts Count(IReadOnlyList<Finding> findings)
        => new(findings.Count(f => f.Severity == "high"), findings.Count(f => f.Severity == "medium"), findings.Count(f => f.Severity == "low"));

    [GeneratedRegex(@"^\s*[-*]\s*\[(high|medium|low)\]\s*([^\s:]+:\d+):\s*(.+)$", RegexOptions.IgnoreCase)]
    private static partial Regex Line();
}

internal sealed record SeverityCounts(int High, int Medium, int Low)
{
    public override string ToString() => $"{High} high, {Medium} medium, {Low} low";
}

/// <summary>One line of the ticket writer's answer: <c>TICKET-1 [high] Fix …</c>.</summary>
internal static partial class Ticket
{
    public static IReadOnlyList<string> ParseAll(string answer)
        => [.. answer.Split('\n').Select(l => l.Trim()).Where(l => Line().IsMatch(l))];

    [GeneratedRegex(@"^TICKET-\d+ \[(high|medium|low)\] .+$", RegexOptions.IgnoreCase)]
    private static partial Regex Line();
}
