using CtxRelay;
using CtxRelay.Samples;
using CtxRelay.Samples.ArchitectEngineer;

// Architect -> engineer: the architect model writes a design document and pushes it to the `designs`
// channel; the engineer, waiting there, peeks at its title, pulls it, has its model write the code,
// saves the file under --out and pushes the code back, linked to the design it implements.
//
//   dotnet run --project samples/ArchitectEngineer [-- --feature "a token-bucket rate limiter"] [--out generated] [--channel designs]
return await SampleRun.RunAsync("architect-engineer", async cancellationToken =>
{
    var options = SampleArgs.Parse(args, "--feature", "--out", "--channel");
    var feature = options.Get("--feature", "a token-bucket rate limiter for the push endpoint");
    var outDirectory = Path.GetFullPath(options.Get("--out", "generated"));
    var channel = options.Get("--channel", "designs");

    using var relay = new ContextRelay(ContextRelayOptions.FromEnvironment());
    using var architect = ChatModels.FromEnvironment(Design.StandInArchitect);
    using var engineer = ChatModels.FromEnvironment(Design.StandInEngineer);
    Console.WriteLine($"architect: {architect.Name}");
    Console.WriteLine($"engineer: {engineer.Name}");

    // The engineer listens first, so the design cannot be missed.
    await using var inbox = await relay.OpenSubscriptionAsync(channel, cancellationToken: cancellationToken);

    // Architect: write the design and push it; the title travels as metadata.
    var design = await architect.AskAsync(Design.ArchitectInstructions, feature, cancellationToken);
    var title = design.Split('\n', 2)[0].TrimStart('#', ' ').Trim();
    var designUrl = await relay.PushAsync(design, channel, metadata: new { kind = "design", title, feature }, cancellationToken: cancellationToken);
    Console.WriteLine($"architect pushed '{title}' ({design.Length:N0} chars) -> {designUrl}");

    // Engineer: peek, pull, write the code, save it and hand it back.
    var announced = await inbox.WaitForAsync(e => e.Type == RelayEventType.Push && e.Metadata["kind"]?.GetValue<string>() == "design", cancellationToken);
    var info = await relay.PeekAsync(announced.Url!, cancellationToken);
    Console.WriteLine($"engineer peeked: {info.Metadata["title"]} ({info.Size:N0} bytes)");
    var pulled = await relay.PullAsync(announced.Url!, cancellationToken: cancellationToken);
    var file = CodeFile.Parse(await engineer.AskAsync(Design.EngineerInstructions, pulled, cancellationToken));
    var target = await file.SaveUnderAsync(outDirectory, cancellationToken);
    var codeUrl = await relay.PushAsync(file.Content, channel, metadata: new { kind = "code", design = announced.Id, path = file.Path }, cancellationToken: cancellationToken);
    Console.WriteLine($"engineer wrote {target} ({file.Content.Split('\n').Length} lines) -> {codeUrl}");
    return 0;
});
