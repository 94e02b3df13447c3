namespace CtxRelay.Samples.BackgroundTasks;

/// <summary>
/// <c>notify</c>: wait until every task of a batch has a result, printing each once as it arrives. It replays
/// the done channel from the start, so results that came in before it started count too; a second result
/// for the same task_id (a worker died after pushing but before acknowledging) is reported and ignored.
/// </summary>
internal static class Notifier
{
    public static async Task<int> NotifyAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = SampleArgs.Parse(args, "--batch", "--count", "--done", "--timeout");
        var batch = options.Get("--batch") ?? throw new SampleUsageException("--batch is required (fire prints it).");
        var count = options.GetInt("--count", 3);
        var channel = options.Get("--done", Channels.Done);
        var timeout = TimeSpan.FromSeconds(options.GetInt("--timeout", 300));

        using var relay = new ContextRelay(ContextRelayOptions.FromEnvironment());
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var results = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            await foreach (var done in relay.SubscribeAsync(channel, since: 0, deadline.Token))
            {
                if (done.Type != RelayEventType.Push || done.Metadata["batch"]?.GetValue<string>() != batch)
                {
                    continue;
                }

                var taskId = done.Metadata["task_id"]?.GetValue<string>() ?? done.Id!;
                if (results.ContainsKey(taskId))
                {
                    Console.WriteLine($"duplicate result for {taskId} ignored");
                    continue;
                }

                results[taskId] = await relay.PullAsync(done.Url!, cancellationToken: deadline.Token);
                Console.WriteLine($"result {taskId}: {results[taskId]}");
                if (results.Count == count)
                {
                    Console.WriteLine($"batch {batch}: all {count} results in");
                    return 0;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the deadline passed: reported below
        }

        Console.Error.WriteLine($"notify: {results.Count} of {count} results after {timeout.TotalSeconds:0} s. Is a worker running (contextrelay-sample-bgtasks worker)?");
        return 1;
    }
}
