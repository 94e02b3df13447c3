using CtxRelay;
using CtxRelay.Samples;

// A production listener: every incident report pushed to `prod-issues` announces itself on the channel;
// the listener peeks at each one's metadata and pulls — and asks the model to triage — only the
// high-severity ones. Everything else stays on the relay, unread, until it expires.
//
//   dotnet run --project samples/ProdListener [-- --channel prod-issues] [--limit N]
return await SampleRun.RunAsync("prod-listener", async cancellationToken =>
{
    const string Instructions = "You are the on-call engineer. Read this production incident report and answer in one line: the likely cause and the first thing to do.";
    var options = SampleArgs.Parse(args, "--channel", "--limit", "--severity");
    var channel = options.Get("--channel", "prod-issues");
    var pullSeverity = options.Get("--severity", "high");
    var limit = options.GetInt("--limit", int.MaxValue);

    using var relay = new ContextRelay(ContextRelayOptions.FromEnvironment());
    using var model = ChatModels.FromEnvironment(new ScriptedChatClient("on-call", report =>
        $"likely cause: {report.Split('\n', 2)[0].Trim()}; first step: page the owning team and roll back the last deploy."));
    await using var issues = await relay.OpenSubscriptionAsync(channel, cancellationToken: cancellationToken);
    Console.WriteLine($"listening on '{channel}', pulling severity '{pullSeverity}' (model: {model.Name})");

    var seen = 0;
    await foreach (var issue in issues.ReadAllAsync(cancellationToken))
    {
        if (issue.Type != RelayEventType.Push)
        {
            continue;
        }

        // Peek: metadata and size only; the report itself stays on the relay.
        var info = await relay.PeekAsync(issue.Url!, cancellationToken);
        var severity = info.Metadata["severity"]?.ToString() ?? "unset";
        var title = info.Metadata["title"]?.ToString() ?? "(no title)";
        if (!severity.Equals(pullSeverity, StringComparison.OrdinalIgnoreCase))
        {
            Console.WriteLine($"skipped {info.Id} [{severity}] {title} ({info.Size:N0} bytes left unread)");
        }
        else
        {
            var report = await relay.PullAsync(issue.Url!, cancellationToken: cancellationToken);
            Console.WriteLine($"pulled {info.Id} [{severity}] {title} ({report.Length:N0} chars)");
            Console.WriteLine($"  triage: {await model.AskAsync(Instructions, report, cancellationToken)}");
        }

        if (++seen >= limit)
        {
            break;
        }
    }

    return 0;
});
