namespace CtxRelay;

/// <summary>
/// A structured outcome: the block an agent ends its answer with when asked to (the hosted Python
/// package's <c>=== CC_OUTCOME_START ===</c> … <c>=== CC_OUTCOME_END ===</c> block, with
/// <c>COMPLETED:</c>, <c>NOT_DONE:</c> and <c>NOTES:</c> lines). The instruction text and the extraction
/// rule are the package's, so results from either bridge read the same.
/// </summary>
/// <param name="Block">The block as the agent wrote it, markers included.</param>
/// <param name="Completed">What was done (the <c>COMPLETED:</c> field, continuation lines included).</param>
/// <param name="NotDone">What was skipped, blocked or failed (<c>NOT_DONE:</c>; often "none").</param>
/// <param name="Notes">Anything the orchestrator should know (<c>NOTES:</c>).</param>
public sealed record AgentOutcome(string Block, string Completed, string NotDone, string Notes)
{
    public const string StartMarker = "=== CC_OUTCOME_START ===";

    public const string EndMarker = "=== CC_OUTCOME_END ===";

    private const string CompletedPlaceholder = "<bullet list of what was done>";

    private static readonly string[] Labels = ["COMPLETED", "NOT_DONE", "NOTES"];

    /// <summary>What is appended to a task to ask for the block (the Python package's text, byte for byte).</summary>
    public static string Instruction { get; } =
        "\n\n---\nAfter completing the task above, end your response with this exact block:\n\n"
        + StartMarker
        + "\nCOMPLETED: " + CompletedPlaceholder + "\n"
        + "NOT_DONE: <anything skipped, blocked, or errored — or \"none\">\n"
        + "NOTES: <anything the orchestrating agent should know>\n"
        + EndMarker
        + "\n";

    /// <summary>
    /// The outcome block of an answer: from the last start marker to the next end marker (as the Python
    /// package extracts it). Null when there is none — and when the last block is the instruction's own
    /// template (an echoed task), which is no answer.
    /// </summary>
    public static AgentOutcome? Extract(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var start = text.LastIndexOf(StartMarker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        var end = text.IndexOf(EndMarker, start, StringComparison.Ordinal);
        if (end < 0)
        {
            return null;
        }

        var block = text[start..(end + EndMarker.Length)].Trim();
        var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (var raw in block[StartMarker.Length..^EndMarker.Length].Split('\n'))
        {
            var line = raw.TrimEnd('\r').Trim();
            var label = Labels.FirstOrDefault(l => line.StartsWith(l + ":", StringComparison.Ordinal));
            if (label is not null)
            {
                current = fields[label] = [line[(label.Length + 1)..].Trim()];
            }
            else if (current is not null && line.Length > 0)
            {
                current.Add(line);
            }
        }

        string Field(string name) => fields.TryGetValue(name, out var lines) ? string.Join('\n', lines.Where(l => l.Length > 0)) : string.Empty;

        var completed = Field("COMPLETED");
        return completed == CompletedPlaceholder ? null : new AgentOutcome(block, completed, Field("NOT_DONE"), Field("NOTES"));
    }
}
