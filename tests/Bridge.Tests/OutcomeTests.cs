using CtxRelay.Bridge.Internal;
using CtxRelay.Testing;

namespace CtxRelay.Bridge.Tests;

/// <summary>
/// The structured outcome: the same instruction and the same extraction as the hosted Python package
/// (checked against <c>hosted_sdk.py</c> run by real python3), and an echoed instruction never taken for
/// the agent's block.
/// </summary>
public sealed class OutcomeTests
{
    private const string AgentBlock = "=== CC_OUTCOME_START ===\nCOMPLETED: - fixed the pager\nNOT_DONE: none\nNOTES: see PR 12\n=== CC_OUTCOME_END ===";

    public static TheoryData<string> Answers => new()
    {
        "Fixed it.\n" + AgentBlock + "\nBye.",
        "no block at all",
        "=== CC_OUTCOME_START ===\nCOMPLETED: unfinished block",
        AgentBlock + "\n" + AgentBlock.Replace("the pager", "the pager again", StringComparison.Ordinal),
        "Review the pager." + AgentOutcome.Instruction + "\nFixed it.\n\n   " + AgentBlock + "   \n",
    };

    [Fact]
    public async Task TheInstruction_IsThePythonPackagesByteForByte()
    {
        var python = (await HostedPythonSdk.RunCodeAsync("sys.stdout.buffer.write(hosted_sdk.OUTCOME_INSTRUCTION.encode('utf-8'))")).Ok();

        Assert.Equal(python, AgentOutcome.Instruction);
    }

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task TheBlock_IsWhatThePythonPackageExtracts(string answer)
    {
        var python = (await HostedPythonSdk.RunCodeAsync(
            "sys.stdout.buffer.write(hosted_sdk.extract_outcome(sys.stdin.buffer.read().decode('utf-8')).encode('utf-8'))", answer)).Ok();

        var outcome = AgentOutcome.Extract(answer);

        // The package returns the whole text when there is no complete block; we say "none".
        Assert.Equal(python == answer ? null : python, outcome?.Block);
    }

    [Fact]
    public void TheFields_AreParsed_WithContinuationLines()
    {
        var outcome = AgentOutcome.Extract("=== CC_OUTCOME_START ===\nCOMPLETED: - one\n  - two\n\nNOT_DONE:\n- three\nNOTES: none\n=== CC_OUTCOME_END ===");

        Assert.NotNull(outcome);
        Assert.Equal("- one\n- two", outcome.Completed);
        Assert.Equal("- three", outcome.NotDone);
        Assert.Equal("none", outcome.Notes);
    }

    [Fact]
    public void AnEchoedInstruction_WithoutTheAgentsBlock_IsNoOutcome()
    {
        // A pane that echoes the task in full shows the instruction's template block first.
        var screen = "> Review the pager." + AgentOutcome.Instruction.Replace("\n", "\n  ", StringComparison.Ordinal) + "\n● Fixed the pager; no block, sorry.\n";

        Assert.Null(AgentOutcome.Extract(screen));
        Assert.Equal(AgentBlock, AgentOutcome.Extract(screen + "\n" + AgentBlock)?.Block);
    }

    [Fact]
    public void AnEchoedTaskWithTheInstruction_IsDroppedByTheCleaner_LeavingTheAgentsBlock()
    {
        var task = "Review the pager." + AgentOutcome.Instruction;
        var echo = "> " + string.Join("\n  ", task.TrimEnd('\n').Split('\n'));
        var screen = echo + "\n\n● Fixed the pager.\n\n  " + AgentBlock.Replace("\n", "\n  ", StringComparison.Ordinal) + "\n\n╭────╮\n│ >  │\n╰────╯\n";

        var cleaned = ScreenCleaner.Clean(screen, task);

        Assert.Equal("Fixed the pager.\n\n" + AgentBlock, cleaned);
        Assert.Equal(AgentBlock, AgentOutcome.Extract(cleaned)?.Block);
    }
}
