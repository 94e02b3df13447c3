using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CtxRelay.Samples.Crew;

/// <summary>
/// What each stand-in agent does, written as a model would use the tools: nothing but tool calls and their results.
/// All three tools sets are bound to the crew's channel, so no call names a channel.
/// </summary>
internal static partial class Roles
{
    /// <summary>A claim the writer adds that the research does not support, so the fact-checker has something to find.</summary>
    public const string UnsupportedClaim = "Payloads are kept forever, so a URL can be handed on years later.";

    private static readonly string[] s_facts =
    [
        "A payload pushed to the relay is stored once and handed on as a short URL.",
        "Payloads expire after 24 hours by default.",
        "An encrypted payload's key travels only in the URL's #key= fragment, never to the relay.",
        "peek_context returns a payload's metadata and size without its text.",
        "pull_context returns large payloads in pages of 20,000 characters by default.",
        "wait_for_context blocks until something is pushed or published on a channel.",
        "after_seq replays the events a waiting agent missed, so nothing is lost between two waits.",
        "Channels retain their recent events, so an agent that starts late still gets the hand-off.",
    ];

    /// <summary>Pushes a long research report to the crew's channel.</summary>
    public static async Task<string> ResearcherAsync(StandInModel model)
    {
        var report = Research();
        var pushed = await model.CallAsync("push_context", new()
        {
            ["data"] = report,
            ["summary"] = $"Research notes: {s_facts.Length * 6} numbered facts with details",
        });
        return Invariant($"Research pushed ({report.Length:N0} characters): {FirstLine(pushed)}");
    }

    /// <summary>Waits for the research, reads it page by page, and pushes a draft built from its facts.</summary>
    public static async Task<string> WriterAsync(StandInModel model)
    {
        var research = Json(await model.CallAsync("wait_for_context", new() { ["after_seq"] = 0, ["timeout_seconds"] = 120 }))!;
        var url = (string)research["url"]!;
        await model.CallAsync("peek_context", new() { ["url"] = url });
        var notes = await ReadAllAsync(model, url);

        var claims = notes.Split('\n').Select(line => FactLine().Match(line)).Where(m => m.Success).Select(m => m.Groups["text"].Value).Distinct().ToList();
        claims.Add(UnsupportedClaim);
        var draft = new StringBuilder("# Handing context between agents\n\n");
        for (var i = 0; i < claims.Count; i++)
        {
            draft.Append(CultureInfo.InvariantCulture, $"Claim {i + 1}. {claims[i]}\n");
        }

        var pushed = await model.CallAsync("push_context", new() { ["data"] = draft.ToString(), ["summary"] = $"Draft article, {claims.Count} claims" });
        return Invariant($"Draft pushed ({claims.Count} claims from {notes.Length:N0} characters of research): {FirstLine(pushed)}");
    }

    /// <summary>Waits for the research and then the draft, reads both, and checks every claim against the research.</summary>
    public static async Task<string> FactCheckerAsync(StandInModel model)
    {
        var first = Json(await model.CallAsync("wait_for_context", new() { ["after_seq"] = 0, ["timeout_seconds"] = 120 }))!;
        var second = Json(await model.CallAsync("wait_for_context", new() { ["after_seq"] = (long)first["seq"]!, ["timeout_seconds"] = 120 }))!;
        var notes = await ReadAllAsync(model, (string)first["url"]!);
        var draft = await ReadAllAsync(model, (string)second["url"]!);

        var claims = draft.Split('\n').Select(line => ClaimLine().Match(line)).Where(m => m.Success).Select(m => m.Groups["text"].Value).ToList();
        var unsupported = claims.Where(claim => !notes.Contains(claim, StringComparison.Ordinal)).ToList();
        return $"Fact check: {claims.Count - unsupported.Count} of {claims.Count} claims are supported by the research"
            + (unsupported.Count == 0 ? "." : $"; unsupported: {string.Join(" ", unsupported.Select(c => $"\"{c}\""))}");
    }

    /// <summary>Pulls a payload page by page, following the note after each page to the next offset.</summary>
    private static async Task<string> ReadAllAsync(StandInModel model, string url)
    {
        var text = new StringBuilder();
        var offset = 0;
        while (true)
        {
            var page = await model.CallAsync("pull_context", new() { ["url"] = url, ["offset"] = offset });
            var note = page.LastIndexOf("\n\n[", StringComparison.Ordinal);
            if (note < 0 || !page.EndsWith(']'))
            {
                return text.Append(page).ToString(); // small: the whole payload, no note
            }

            text.Append(page, 0, note);
            if (NextOffset().Match(page, note) is not { Success: true } next)
            {
                return text.ToString(); // the note says this was the last page
            }

            offset = int.Parse(next.Groups[1].Value, CultureInfo.InvariantCulture);
        }
    }

    /// <summary>About 50,000 characters of numbered facts, each with a paragraph of detail: more than two pages.</summary>
    private static string Research()
    {
        var report = new StringBuilder("# Research notes: how agents hand context on\n\n");
        for (var i = 0; i < s_facts.Length * 6; i++)
        {
            var fact = s_facts[i % s_facts.Length];
            report.Append(CultureInfo.InvariantCulture, $"Fact {i + 1}. {fact}\n");
            for (var line = 0; line < 8; line++)
            {
                report.Append(CultureInfo.InvariantCulture, $"  Detail {i + 1}.{line + 1}: observed in run {(i * 31) + line} of the hand-off study; the receiving agent read it back unchanged.\n");
            }

            report.Append('\n');
        }

        return report.ToString();
    }

    /// <summary>A tool's JSON answer; anything else is the tool saying what went wrong, which ends this agent's work.</summary>
    private static JsonNode Json(string result)
        => result.StartsWith('{') ? JsonNode.Parse(result)! : throw new InvalidOperationException(result);

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    [GeneratedRegex(@"^Fact \d+\. (?<text>.+)$")]
    private static partial Regex FactLine();

    [GeneratedRegex(@"^Claim \d+\. (?<text>.+)$")]
    private static partial Regex ClaimLine();

    [GeneratedRegex(@"offset=(\d+)")]
    private static partial Regex NextOffset();
}
