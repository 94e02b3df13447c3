using static System.FormattableString;

namespace CtxRelay;

/// <summary>One page of a payload's text: characters [<see cref="Start"/>, <see cref="End"/>) of <see cref="Total"/>.</summary>
internal readonly record struct Page(int Start, int End, int Total)
{
    public int Length => End - Start;

    public int Remaining => Total - End;

    public bool IsWhole => Start == 0 && End == Total;
}

/// <summary>
/// Cuts payload text into pages small enough for a tool result. Clients cap results (Claude Code
/// rejects results over about 25,000 tokens), so the default page is 20,000 characters.
/// </summary>
internal static class Paging
{
    public const int DefaultMaxChars = 20_000;
    public const int MaxMaxChars = 100_000;

    /// <summary>
    /// The page of <paramref name="text"/> that starts at <paramref name="offset"/> and holds at most
    /// <paramref name="maxChars"/> characters, never splitting a UTF-16 surrogate pair: a page that would end
    /// between the two halves of a pair ends before it, and an offset that points between them starts at the pair.
    /// </summary>
    public static Page Slice(string text, int offset, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, text.Length);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 1);

        var start = offset;
        if (IsInsidePair(text, start))
        {
            start--;
        }

        var end = (int)Math.Min((long)start + maxChars, text.Length);
        if (IsInsidePair(text, end))
        {
            // Ending here would cut a pair: end before it, unless the page would then be empty.
            end = end - 1 > start ? end - 1 : end + 1;
        }

        return new Page(start, end, text.Length);
    }

    /// <summary>
    /// The plain note that follows a page: how much remains and the offset to ask for next. Null when the
    /// page is the whole payload.
    /// </summary>
    public static string? Note(Page page)
    {
        if (page.IsWhole)
        {
            return null;
        }

        if (page.Remaining > 0)
        {
            return Invariant($"[… {page.Remaining:N0} more characters (this page: characters {page.Start:N0}–{page.End:N0} of {page.Total:N0}). ")
                + Invariant($"Call pull_context with offset={page.End} to continue, or save_to=<path> to get it all at once.]");
        }

        return Invariant(
            $"[End of payload: this page was characters {page.Start:N0}–{page.End:N0} of {page.Total:N0}; nothing more to pull.]");
    }

    private static bool IsInsidePair(string text, int index)
        => index > 0 && index < text.Length && char.IsLowSurrogate(text[index]) && char.IsHighSurrogate(text[index - 1]);
}
