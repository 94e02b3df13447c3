using System.Diagnostics;
using CtxRelay.Bridge.Tests.Support;
using CtxRelay.Testing;
using Xunit.Abstractions;

namespace CtxRelay.Bridge.Tests;

/// <summary>
/// Orchestrators and bridges from either side together: the hosted product's Python package
/// (<c>hosted_sdk.py</c>, real python3 + requests) against this bridge and this SDK, on a real relay.
/// </summary>
[Collection(TmuxCollection.Name)]
public sealed class PythonCompatTests(RelayFixture relay, ITestOutputHelper output) : IClassFixture<RelayFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AgentBridge_AgainstThePythonBridgeDaemon_TakesItsResultThatHasNoTaskId()
    {
        var channels = RunningBridge.NewChannels();
        const string Agent = "read first; printf 'Working on: %s\\n=== CC_OUTCOME_START ===\\nCOMPLETED: - did %s\\nNOT_DONE: none\\nNOTES: from the python bridge\\n=== CC_OUTCOME_END ===\\n' \"$first\" \"$first\"";
        using var daemon = HostedPythonSdk.Start(["bridge", relay.BaseUrl, "--exec", Agent, "--task-channel", channels.Task, "--done-channel", channels.Done, "--api-key", relay.ApiKey]);
        try
        {
            await WaitForLineAsync(daemon, "[AgentBridge] subscribed");
            using var client = relay.CreateClient();

            var orchestrator = new AgentBridge(client, channels.Task, channels.Done);

            var result = await orchestrator.PushAndWaitForResultAsync("Rename the config keys\nand the docs", Patience);
            var second = await orchestrator.PushAndWaitAsync("Update the changelog", Patience);

            const string Block = "=== CC_OUTCOME_START ===\nCOMPLETED: - did Rename the config keys\nNOT_DONE: none\nNOTES: from the python bridge\n=== CC_OUTCOME_END ===";
            Assert.False(result.Correlated); // the Python daemon's result carries only {"summary": …}
            Assert.Equal(AgentTaskStatus.Done, result.Status);
            Assert.Equal(Block, result.Output);
            Assert.Equal(Block[..120], result.Summary);
            Assert.Equal("- did Rename the config keys", result.Outcome?.Completed);
            Assert.Equal("from the python bridge", result.Outcome?.Notes);
            Assert.Equal(Block.Replace("Rename the config keys", "Update the changelog", StringComparison.Ordinal), second);
        }
        finally
        {
            daemon.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task AgentBridge_NeverTakesAResultForAnotherTask_ButTakesTheFirstResultWithoutATaskId()
    {
        var channels = RunningBridge.NewChannels();
        using var client = relay.CreateClient();
        await using var tasks = await client.OpenSubscriptionAsync(channels.Task);

        var waiting = new AgentBridge(client, channels.Task, channels.Done).PushAndWaitForResultAsync("the task", Patience);
        var task = await Wait.For(tasks.WaitForAsync(_ => true), "the task to be pushed");
        await client.PushAsync("someone else's answer", channels.Done, new { task_id = "another-task", status = "done" });
        await client.PushAsync("the python bridge's answer", channels.Done, new { summary = "the python bridge's answer" });
        var result = await Wait.For(waiting, "the answer");

        Assert.Equal(task.Metadata["task_id"]!.GetValue<string>(), result.TaskId);
        Assert.Equal("the python bridge's answer", result.Output);
        Assert.False(result.Correlated);
        Assert.Equal(AgentTaskStatus.Done, result.Status);
    }

    [Fact]
    public async Task PythonPushAndWait_AgainstOurBridge_GetsTheAgentsCleanedAnswer()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var channels = RunningBridge.NewChannels();
        await using var bridge = await RunningBridge.StartAsync(relay, output, RunningBridge.ForStandIn(server, channels));
        const string Task = "Tidy the imports\n\nand the usings [[lines=3]]";

        var answer = await HostedPythonSdk.RunAsync(
            ["push-and-wait", relay.BaseUrl, "--task-channel", channels.Task, "--done-channel", channels.Done, "--timeout", "60", "--api-key", relay.ApiKey],
            stdin: Task,
            timeout: Patience * 2);

        Assert.Equal(server.Turn(1, "answer.txt"), answer.Ok());
        Assert.Equal(Task, server.Turn(1, "task.txt"));
    }

    [Fact]
    public async Task ATaskPushedByThePythonClientBeforeAnyBridgeEverRan_IsAnsweredOnceOneStarts()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var channels = RunningBridge.NewChannels(); // never used: no queue group exists yet
        using var client = relay.CreateClient();
        await using var done = await client.OpenSubscriptionAsync(channels.Done);
        const string Task = "Fire and forget: update the changelog [[lines=2]]";
        var url = (await HostedPythonSdk.RunAsync(
            ["push", relay.BaseUrl, "--channel", channels.Task, "--metadata", "{\"summary\": \"Fire and forget\"}", "--api-key", relay.ApiKey],
            stdin: Task)).Ok();

        await using var bridge = await RunningBridge.StartAsync(relay, output, RunningBridge.ForStandIn(server, channels));
        var result = await Wait.For(done.WaitForAsync(_ => true), "the answer", Patience);

        Assert.Equal("done", result.Metadata["status"]!.GetValue<string>());
        Assert.Equal(url[(url.LastIndexOf('/') + 1)..], result.Metadata["task_id"]!.GetValue<string>()); // its payload id
        Assert.Equal(Task, server.Turn(1, "task.txt"));
        Assert.Equal(server.Turn(1, "answer.txt"), await client.PullAsync(result.Url!));
    }

    [Fact]
    public async Task Outcome_InATmuxPane_TheStandInsBlockIsTheResult_TheTranscriptKeepsTheWholeAnswer()
    {
        await using var server = await TmuxServer.StartStandInAsync();
        var channels = RunningBridge.NewChannels();
        await using var bridge = await RunningBridge.StartAsync(relay, output, RunningBridge.ForStandIn(server, channels));
        using var client = relay.CreateClient();
        const string Task = "Add retries to the HTTP client [[outcome]] [[lines=2]]";

        var result = await new AgentBridge(client, channels.Task, channels.Done)
            .PushAndWaitForResultAsync(Task, new AgentTaskOptions { Timeout = Patience, Outcome = true });

        var typed = server.Turn(1, "task.txt");
        var answer = server.Turn(1, "answer.txt");
        Assert.Equal(Task + AgentOutcome.Instruction, typed); // the agent got the instruction
        Assert.Equal(AgentTaskStatus.Done, result.Status);
        Assert.Equal(answer[answer.IndexOf(AgentOutcome.StartMarker, StringComparison.Ordinal)..], result.Output);
        Assert.Equal($"- answered task {BridgeTool.Checksum(typed)} with 2 lines\n- checked the summary table", result.Outcome?.Completed);
        Assert.Equal("stand-in turn 1", result.Outcome?.Notes);
        Assert.Equal(answer, await client.PullAsync(result.TranscriptUrl!));
    }

    private static async Task WaitForLineAsync(Process process, string line)
    {
        var read = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } next)
            {
                if (next.Contains(line, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            throw new InvalidOperationException($"the process ended before printing '{line}': {await process.StandardError.ReadToEndAsync()}");
        });
        await Wait.For(read, $"'{line}'");
    }
}
