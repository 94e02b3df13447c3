using System.Text.RegularExpressions;

namespace CtxRelay.Bridge.Internal;

/// <summary>What the bottom of an agent's screen says.</summary>
/// <param name="Busy">A spinner or "esc to interrupt" is showing near the prompt.</param>
/// <param name="PromptVisible">The input prompt is drawn at the bottom.</param>
/// <param name="InputAreaTop">Row where the input area (box top or prompt line) starts; -1 without a prompt.</param>
internal readonly record struct ScreenReading(bool Busy, bool PromptVisible, int InputAreaTop);

/// <summary>
/// Reads the visible screen of an agent. Only the last lines decide: the input area at the bottom
/// (prompt box and footer) and the few lines right above it, where a live spinner sits. Spinner text
/// that scrolled up into the transcript does not count.
/// </summary>
internal static class ScreenReader
{
    /// <summary>How many non-blank lines from the bottom may hold the prompt (box, footer, hints).</summary>
    private const int PromptSearchLines = 10;

    /// <summary>How many non-blank lines above the input area count for busy markers.</summary>
    private const int StatusLinesAbovePrompt = 2;

    /// <summary>Without a visible prompt, how many non-blank bottom lines count for busy markers.</summary>
    private const int StatusLinesWithoutPrompt = 4;

    public static ScreenReading Read(IReadOnlyList<string> screen, Regex? promptPattern = null)
    {
        var prompt = promptPattern ?? Chrome.PromptLine();
        var promptRow = -1;
        var seen = 0;
        for (var row = screen.Count - 1; row >= 0 && seen < PromptSearchLines; row--)
        {
            if (string.IsNullOrWhiteSpace(screen[row]))
            {
                continue;
            }

            seen++;
            if (prompt.IsMatch(screen[row]))
            {
                promptRow = row;
                break;
            }
        }

        var busy = false;
        if (promptRow >= 0)
        {
            var top = promptRow > 0 && Chrome.IsBorder(screen[promptRow - 1]) ? promptRow - 1 : promptRow;
            for (var row = top; row < screen.Count && !busy; row++)
            {
                busy = Chrome.IsBusy(screen[row]);
            }

            var counted = 0;
            for (var row = top - 1; row >= 0 && counted < StatusLinesAbovePrompt && !busy; row--)
            {
                if (!string.IsNullOrWhiteSpace(screen[row]))
                {
                    counted++;
                    busy = Chrome.IsBusy(screen[row]);
                }
            }

            return new ScreenReading(busy, true, top);
        }

        var lines = 0;
        for (var row = screen.Count - 1; row >= 0 && lines < StatusLinesWithoutPrompt && !busy; row--)
        {
            if (!string.IsNullOrWhiteSpace(screen[row]))
            {
                lines++;
                busy = Chrome.IsBusy(screen[row]);
            }
        }

        return new ScreenReading(busy, false, -1);
    }
}
