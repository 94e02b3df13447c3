using System.Text.RegularExpressions;
using CtxRelay.Testing;

namespace CtxRelay.Samples.Tests;

/// <summary>samples/BackgroundTasks: fire tasks, workers in a queue group with acks, a notifier correlating by task_id.</summary>
public sealed partial class BackgroundTasksTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private static readonly string Dll = SampleProcess.Locate("BackgroundTasks", "contextrelay-sample-bgtasks.dll");

    [Fact]
    public async Task AWorkerKilledMidTask_LosesNothing_AndEveryTaskHasExactlyOneResult()
    {
        var (tasks, done, batch) = NewChannels();
        const int Count = 4;

        // The orchestrator fires and returns at once: nobody is working yet.
        await using (var fire = await SampleProcess.RunAsync(relay, Dll, ["fire", "--count", $"{Count}", "--batch", batch, "--tasks", tasks]))
        {
            Assert.True(fire.ExitCode == 0, fire.Error);
            Assert.Equal(Count, fire.Output.Split('\n').Count(l => l.StartsWith($"fired {batch}-", StringComparison.Ordinal)));
        }

        await using var notifier = SampleProcess.Start(relay, Dll, ["notify", "--batch", batch, "--count", $"{Count}", "--done", done, "--timeout", "120"]);

        // Worker 1 takes a task, then "works" far longer than the test: it will never push or ack it.
        await using var doomed = SampleProcess.Start(relay, Dll, ["worker", "--tasks", tasks, "--done", done, "--work-delay", "00:10:00"]);
        var took = await doomed.WaitForLineAsync(l => l.Contains(" took ", StringComparison.Ordinal), "worker 1 to take a task");
        var killedTask = TookPattern().Match(took).Groups[1].Value;
        doomed.KillHard(); // kill -9: no ack, no goodbye; the relay sees the socket drop
        await doomed.WaitForExitAsync();
        Assert.DoesNotContain(" done ", doomed.Output, StringComparison.Ordinal);

        // Worker 2 gets everything, including the task worker 1 held, handed out a second time.
        await using var survivor = SampleProcess.Start(relay, Dll, ["worker", "--tasks", tasks, "--done", done]);
        Assert.True(await notifier.WaitForExitAsync(TimeSpan.FromSeconds(120)) == 0, notifier.Output + notifier.Error);
        await survivor.WaitForLineAsync(l => l.Contains($"done {killedTask}:", StringComparison.Ordinal), "worker 2 to acknowledge the redelivered task");
        Assert.Contains($"took {killedTask} (delivery 2)", survivor.Output, StringComparison.Ordinal);

        // The notifier printed each task's result exactly once, and nothing twice.
        var expected = Enumerable.Range(1, Count).Select(i => $"{batch}-{i}").ToList();
        var printed = notifier.Output.Split('\n').Select(l => ResultPattern().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(expected, printed.Order());
        Assert.DoesNotContain("duplicate", notifier.Output, StringComparison.Ordinal);
        Assert.Contains($"batch {batch}: all {Count} results in", notifier.Output, StringComparison.Ordinal);

        // The relay holds exactly one result per task, all from worker 2, the killed task's marked as a redelivery.
        var results = await RelayState.PushesAsync(relay, done);
        Assert.Equal(expected, results.Select(r => r.Meta("task_id")!).Order());
        Assert.All(results, r => Assert.Equal($"{survivor.Id}", r.Meta("worker")));
        Assert.Equal("2", results.Single(r => r.Meta("task_id") == killedTask).Meta("deliveries"));
        using var client = relay.CreateClient();
        var first = results.Single(r => r.Meta("task_id") == $"{batch}-1");
        Assert.Equal("done: Summarize yesterday's failed builds in one sentence. (7 words)", await client.PullAsync((string)first["id"]!));
    }

    [Fact]
    public async Task TwoWorkers_ShareTheTasks_EachTaskDoneByExactlyOneOfThem()
    {
        var (tasks, done, batch) = NewChannels();
        const int Count = 6;
        string[] worker = ["worker", "--tasks", tasks, "--done", done, "--work-delay", "00:00:00.5"];
        await using var first = SampleProcess.Start(relay, Dll, worker);
        await using var second = SampleProcess.Start(relay, Dll, worker);
        await first.WaitForLineAsync(l => l.Contains(" joined group ", StringComparison.Ordinal), "worker 1 to join");
        await second.WaitForLineAsync(l => l.Contains(" joined group ", StringComparison.Ordinal), "worker 2 to join");

        await using (var fire = await SampleProcess.RunAsync(relay, Dll, ["fire", "--count", $"{Count}", "--batch", batch, "--tasks", tasks]))
        {
            Assert.Equal(0, fire.ExitCode);
        }

        await using var notifier = await SampleProcess.RunAsync(relay, Dll, ["notify", "--batch", batch, "--count", $"{Count}", "--done", done, "--timeout", "60"]);
        Assert.True(notifier.ExitCode == 0, notifier.Output + notifier.Error);

        var results = await RelayState.PushesAsync(relay, done);
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"{batch}-{i}"), results.Select(r => r.Meta("task_id")!).Order());
        Assert.All(results, r => Assert.Equal("1", r.Meta("deliveries"))); // nobody died: every task handed out once
        Assert.Equal(new[] { $"{first.Id}", $"{second.Id}" }.Order(), results.Select(r => r.Meta("worker")!).Distinct().Order()); // both worked
    }

    [Fact]
    public async Task TheNotifier_CountsResultsThatArrivedBeforeItStarted_AndGivesUpWithAHint()
    {
        var (tasks, done, batch) = NewChannels();
        await using (var fire = await SampleProcess.RunAsync(relay, Dll, ["fire", "--count", "2", "--batch", batch, "--tasks", tasks]))
        {
            Assert.Equal(0, fire.ExitCode);
        }

        await using (var worker = SampleProcess.Start(relay, Dll, ["worker", "--tasks", tasks, "--done", done]))
        {
            await worker.WaitForLineAsync(l => l.Contains($"done {batch}-2:", StringComparison.Ordinal), "the worker to finish both tasks");
        }

        await using var late = await SampleProcess.RunAsync(relay, Dll, ["notify", "--batch", batch, "--count", "2", "--done", done]);
        Assert.True(late.ExitCode == 0, late.Error);
        Assert.Contains($"result {batch}-2: done: ", late.Output, StringComparison.Ordinal);

        await using var waiting = await SampleProcess.RunAsync(relay, Dll, ["notify", "--batch", batch, "--count", "3", "--done", done, "--timeout", "2"]);
        Assert.Equal(1, waiting.ExitCode);
        Assert.Equal("notify: 2 of 3 results after 2 s. Is a worker running (contextrelay-sample-bgtasks worker)?", waiting.Error.Trim());
    }

    [Fact]
    public async Task BadArguments_AreOneLineUsageErrors()
    {
        await using var noRole = await SampleProcess.RunAsync(relay, Dll, []);
        await using var badCount = await SampleProcess.RunAsync(relay, Dll, ["fire", "--count", "many"]);
        await using var badTimeout = await SampleProcess.RunAsync(relay, Dll, ["worker", "--ack-timeout", "00:00:00"]);

        Assert.Equal([2, 2, 2], new[] { noRole.ExitCode, badCount.ExitCode, badTimeout.ExitCode });
        Assert.StartsWith("usage: contextrelay-sample-bgtasks fire|worker|notify", noRole.Error, StringComparison.Ordinal);
        Assert.Equal("fire: --count must be a positive whole number, not 'many'.", badCount.Error.Trim());
        Assert.Equal("worker: --ack-timeout must be between 00:00:01 and 01:00:00.", badTimeout.Error.Trim());
    }

    [Fact]
    public async Task AWorkerWithoutARelay_StopsWithOneLineSayingWhatToCheck()
    {
        var environment = new Dictionary<string, string> { ["CONTEXTRELAY_URL"] = $"http://127.0.0.1:{RelayProcess.FreePort()}" }; // nothing listens there

        await using var worker = await SampleProcess.RunAsync(relay, Dll, ["worker"], environment);

        Assert.Equal(1, worker.ExitCode);
        var line = Assert.Single(worker.Error.Trim().Split('\n'));
        Assert.Contains("worker: Cannot subscribe to 'bg-tasks'", line, StringComparison.Ordinal);
        Assert.EndsWith("Is the relay running (dotnet run --project src/Relay) at CONTEXTRELAY_URL?", line, StringComparison.Ordinal);
    }

    private static (string Tasks, string Done, string Batch) NewChannels()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        return ($"bg-tasks-{id}", $"bg-done-{id}", id);
    }

    [GeneratedRegex(@" took (\S+) \(delivery 1\)")]
    private static partial Regex TookPattern();

    [GeneratedRegex(@"^result (\S+): ")]
    private static partial Regex ResultPattern();
}
