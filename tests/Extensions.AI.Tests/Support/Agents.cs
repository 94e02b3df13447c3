using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace CtxRelay.Extensions.AI.Tests;

/// <summary>The scripted researcher and writer of the hand-off tests, written the way a model uses the tools.</summary>
internal static partial class Agents
{
    /// <summary>Pushes <paramref name="report"/> with push_context, then answers with the URL it got.</summary>
    public static ScriptedChatClient Researcher(string report, bool encrypted = false) => new(turn =>
    {
        if (turn.LastToolResult is not { } result)
        {
            return ScriptedChatClient.Call(turn.Tool("push_context"), new()
            {
                ["data"] = report,
                ["summary"] = "Research report on relays",
                ["encrypted"] = encrypted,
            });
        }

        return ScriptedChatClient.Say($"The report is at {FirstLine(result)}");
    });

    /// <summary>
    /// Finds a ContextRelay URL in what the user said (or waits for one with wait_for_context), peeks at it, pulls it page by page following each page's note,
    /// and answers with how much it read. <paramref name="received"/> collects the pages as they come.
    /// </summary>
    public static ScriptedChatClient Writer(StringBuilder received) => new(turn =>
    {
        if (FindUrl(turn) is not { } url)
        {
            // Not told where the research is: wait for it on the team's channel (including what came before).
            return ScriptedChatClient.Call(turn.Tool("wait_for_context"), new() { ["after_seq"] = 0, ["timeout_seconds"] = 30 });
        }

        if (turn.LastToolResult is not { } result || result.Contains("\"type\": \"push\"", StringComparison.Ordinal))
        {
            return ScriptedChatClient.Call(turn.Tool("peek_context"), new() { ["url"] = url });
        }

        if (result.Contains("\"how_to_read\"", StringComparison.Ordinal))
        {
            return ScriptedChatClient.Call(turn.Tool("pull_context"), new() { ["url"] = url });
        }

        var (page, next) = ReadPage(result);
        received.Append(page);
        return next is { } offset
            ? ScriptedChatClient.Call(turn.Tool("pull_context"), new() { ["url"] = url, ["offset"] = offset })
            : ScriptedChatClient.Say($"Article written from {received.Length} characters.");
    });

    /// <summary>
    /// Splits a pull_context result into the page and the offset of the next page (null at the end), using the
    /// character range the note states; a result without a note is the whole payload.
    /// </summary>
    public static (string Page, int? Next) ReadPage(string result)
    {
        var notes = NotePattern().Matches(result);
        if (notes.Count == 0)
        {
            return (result, null);
        }

        var note = notes[^1];
        var start = Number(note.Groups["start"].Value);
        var end = Number(note.Groups["end"].Value);
        var page = result[..(end - start)];
        if (result[(end - start)..] != "\n\n" + note.Value)
        {
            throw new InvalidOperationException("The page is not followed by exactly its note.");
        }

        return (page, end < Number(note.Groups["total"].Value) ? end : null);
    }

    /// <summary>The first ContextRelay URL the user gave, else the first one a tool returned.</summary>
    public static string? FindUrl(ScriptedTurn turn)
    {
        if (UrlPattern().Match(turn.UserText) is { Success: true } given)
        {
            return given.Value;
        }

        var results = turn.Messages.SelectMany(m => m.Contents.OfType<FunctionResultContent>()).Select(r => ScriptedTurn.AsText(r.Result) ?? string.Empty);
        return results.Select(r => UrlPattern().Match(r)).FirstOrDefault(m => m.Success)?.Value;
    }

    /// <summary>The ContextRelay URL in an agent's answer.</summary>
    public static string FindUrlIn(string text)
        => UrlPattern().Match(text) is { Success: true } m ? m.Value : throw new InvalidOperationException($"No ContextRelay URL in: {text}");

    public static string FirstLine(string text) => text.Split('\n')[0].Trim();

    /// <summary>A report of about <paramref name="length"/> characters with accents and emoji (surrogate pairs), different per seed.</summary>
    public static string Report(int length, int seed)
    {
        var random = new Random(seed);
        string[] words = ["relay", "payload", "agent", "context", "Übergabe", "naïve", "日本語", "🚀", "😀", "page", "URL", "\n"];
        var text = new StringBuilder(length + 16);
        text.Append(CultureInfo.InvariantCulture, $"# Report {seed}\n");
        while (text.Length < length)
        {
            text.Append(words[random.Next(words.Length)]).Append(' ');
        }

        return text.ToString();
    }

    private static int Number(string formatted) => int.Parse(formatted, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"https?://\S+/pull/[^\s""']+")]
    private static partial Regex UrlPattern();

    [GeneratedRegex(@"\[(?:… [\d,]+ more characters \(this page: |End of payload: this page was )characters (?<start>[\d,]+)–(?<end>[\d,]+) of (?<total>[\d,]+)[^\]]*\]$")]
    private static partial Regex NotePattern();
}
