using CtxRelay;
using CtxRelay.Samples;
using CtxRelay.Samples.HandOff;

// Cross-model hand-off: a reviewer model reviews a diff and pushes the review with metadata (a summary
// and severity counts); a ticket-writer model, waiting on the channel, peeks at that metadata, pulls the
// review and turns it into tickets, which it pushes back linked to the review. Only URLs travel between them.
//
//   dotnet run --project samples/HandOff [-- --diff change.diff] [--channel reviews]
return await SampleRun.RunAsync("handoff", async cancellationToken =>
{
    var options = SampleArgs.Parse(args, "--diff", "--channel");
    var channel = options.Get("--channel", "reviews");
    var diff = options.Get("--diff") is { } path ? await ReadDiffAsync(path, cancellationToken) : Review.ExampleDiff;

    using var relay = new ContextRelay(ContextRelayOptions.FromEnvironment());
    using var reviewer = ChatModels.FromEnvironment(Review.StandInReviewer);
    using var ticketWriter = ChatModels.FromEnvironment(Review.StandInTicketWriter, prefer: ModelProvider.Anthropic); // with both keys set: two different models
    Console.WriteLine($"reviewer: {reviewer.Name}");
    Console.WriteLine($"ticket writer: {ticketWriter.Name}");

    // The ticket writer listens first: once this returns, nothing pushed later can be missed.
    await using var inbox = await relay.OpenSubscriptionAsync(channel, cancellationToken: cancellationToken);

    // Agent A: review the diff, push the review with what a reader needs to decide whether to pull it.
    var review = await reviewer.AskAsync(Review.ReviewerInstructions, diff, cancellationToken) is { Length: > 0 } answer ? answer : "No findings.";
    var findings = Finding.ParseAll(review);
    var counts = Finding.Count(findings);
    var pushed = await relay.PushWithResultAsync(review, channel, metadata: new
    {
        kind = "review",
        summary = $"Review of a {diff.Split('\n').Length}-line diff: {counts}",
        high = counts.High,
        medium = counts.Medium,
        low = counts.Low,
        findings = findings.Count,
    }, cancellationToken: cancellationToken);
    Console.WriteLine($"reviewer pushed {findings.Count} findings ({counts}) -> {pushed.Url}");

    // Agent B: the push event carries only the URL; peek at the metadata, then pull and write tickets.
    var announced = await inbox.WaitForAsync(e => e.Type == RelayEventType.Push && e.Metadata["kind"]?.GetValue<string>() == "review", cancellationToken);
    var info = await relay.PeekAsync(announced.Url!, cancellationToken);
    Console.WriteLine($"ticket writer peeked: {info.Metadata["summary"]} ({info.Size:N0} bytes)");
    if (info.Metadata["findings"]?.GetValue<int>() == 0)
    {
        Console.WriteLine("ticket writer: nothing to file.");
        return 0;
    }

    var pulled = await relay.PullAsync(announced.Url!, cancellationToken: cancellationToken);
    var tickets = Ticket.ParseAll(await ticketWriter.AskAsync(Review.TicketWriterInstructions, pulled, cancellationToken));
    if (tickets.Count == 0)
    {
        throw new InvalidDataException($"the ticket writer's model ({ticketWriter.Name}) answered no 'TICKET-<n> [severity] …' lines; run again or try a stronger model.");
    }

    var ticketText = string.Join('\n', tickets);
    var ticketsUrl = await relay.PushAsync(ticketText, channel, metadata: new { kind = "tickets", review = announced.Id, count = tickets.Count }, cancellationToken: cancellationToken);
    Console.WriteLine($"ticket writer filed {tickets.Count} tickets from review {announced.Id} -> {ticketsUrl}");
    foreach (var ticket in tickets)
    {
        Console.WriteLine($"  {ticket}");
    }

    return 0;
});

static async Task<string> ReadDiffAsync(string path, CancellationToken cancellationToken)
{
    if (!File.Exists(path))
    {
        throw new SampleUsageException($"no diff at '{path}'. Make one with: git diff > change.diff");
    }

    var text = await File.ReadAllTextAsync(path, cancellationToken);
    return text.Trim().Length > 0 ? text : throw new SampleUsageException($"'{path}' is empty; nothing to review.");
}
