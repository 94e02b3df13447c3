// An orchestrator script that hands work to a coding agent running in tmux and blocks until it is
// done: no polling, no SSH, no copy-paste. A contextrelay-bridge serves the agent's pane; this script
// only talks to the relay.
//
//   dotnet run --project samples/Orchestrator -- "Refactor the auth module"
//
// Relay and key come from CONTEXTRELAY_URL / CONTEXTRELAY_API_KEY; the channels from
// ORCHESTRATOR_TASKS / ORCHESTRATOR_DONE (default vibe-tasks / vibe-done). See README.md.
using CtxRelay;

var goal = args.Length > 0 ? string.Join(' ', args) : "Refactor the auth module to refresh tokens asynchronously.";
var taskChannel = Environment.GetEnvironmentVariable("ORCHESTRATOR_TASKS") ?? "vibe-tasks";
var doneChannel = Environment.GetEnvironmentVariable("ORCHESTRATOR_DONE") ?? "vibe-done";

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

using var relay = new ContextRelay(ContextRelayOptions.FromEnvironment());
var bridge = new AgentBridge(relay, taskChannel: taskChannel, doneChannel: doneChannel);

try
{
    // Step 1: ask for a plan. The call returns when the agent has finished its turn.
    Console.WriteLine($"-> planning: {goal}");
    string plan = await bridge.PushAndWaitAsync(
        $"Write a short numbered plan (no code yet) for this change:\n{goal}",
        timeout: TimeSpan.FromMinutes(30),
        cancel.Token);
    Console.WriteLine(plan);

    // Step 2: hand the plan back as the next task, multi-line and all.
    Console.WriteLine("-> implementing the plan");
    var result = await bridge.PushAndWaitForResultAsync(
        $"Implement this plan, then run the tests and report what changed:\n\n{plan}",
        timeout: TimeSpan.FromMinutes(30),
        cancel.Token);
    Console.WriteLine($"[{result.Status}, {result.Duration.TotalSeconds:0.0} s, task {result.TaskId}]");
    Console.WriteLine(result.Output);
    return result.Status == AgentTaskStatus.Done ? 0 : 1;
}
catch (AgentBridgeTimeoutException ex)
{
    Console.Error.WriteLine(ex.Message);
    if (ex.Output is { Length: > 0 } partial)
    {
        Console.Error.WriteLine("What the agent had written:");
        Console.Error.WriteLine(partial);
    }

    return 2;
}
catch (AgentBridgeException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}
catch (RelayException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("Cancelled.");
    return 130;
}
