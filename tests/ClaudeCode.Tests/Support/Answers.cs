namespace CtxRelay.ClaudeCode.Tests.Support;

/// <summary>Answers the scripted model gives, shared by the end-to-end tests and the fixtures' expectations.</summary>
public static class Answers
{
    /// <summary>An answer of <paramref name="lines"/> numbered lines between two paragraphs (plain text, so it renders as written).</summary>
    public static string LongAnswer(int lines)
        => "Here is the long answer.\n\n"
            + string.Join('\n', Enumerable.Range(1, lines).Select(i => $"{i}. Line {i} of the long answer, with some words to fill it."))
            + "\n\nThat was all.";
}
