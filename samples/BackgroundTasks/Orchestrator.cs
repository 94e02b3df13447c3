using System.Globalization;

namespace CtxRelay.Samples.BackgroundTasks;

/// <summary><c>fire</c>: push the tasks of one batch and return without waiting for any of them.</summary>
internal static class Orchestrator
{
    private static readonly string[] Jobs =
    [
        "Summarize yesterday's failed builds in one sentence.",
        "List the public methods of TokenService that lack tests.",
        "Draft a release note for the queue-group feature.",
        "Name the three slowest endpoints in last week's traces.",
        "Propose a name for the new retry policy.",
    ];

    public static async Task<int> FireAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = SampleArgs.Parse(args, "--count", "--batch", "--tasks");
        var count = options.GetInt("--count", 3);
        var batch = options.Get("--batch", Guid.NewGuid().ToString("N")[..8]);
        var channel = options.Get("--tasks", Channels.Tasks);

        using var relay = new ContextRelay(ContextRelayOptions.FromEnvironment());
        for (var i = 1; i <= count; i++)
        {
            var taskId = string.Create(CultureInfo.InvariantCulture, $"{batch}-{i}");
            var job = Jobs[(i - 1) % Jobs.Length];
            await relay.PushAsync(job, channel, metadata: new { task_id = taskId, batch }, cancellationToken: cancellationToken);
            Console.WriteLine($"fired {taskId}: {job}");
        }

        Console.WriteLine($"batch {batch}: {count} tasks on '{channel}'. Results: notify --batch {batch} --count {count}");
        return 0;
    }
}
