using CtxRelay;
using CtxRelay.Extensions.AI;
using CtxRelay.Samples.Crew;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

// A crew of three Microsoft Agent Framework agents sharing one ContextRelay channel: the researcher pushes a long
// report, the writer waits for it, reads it page by page and pushes a draft, and the fact-checker waits for both
// and checks every claim of the draft against the research. Only URLs travel between them, never the text.
//
//   dotnet run --project samples/Crew          # starts a relay in-process; or set CONTEXTRELAY_URL and
//                                              # CONTEXTRELAY_API_KEY to use a running one
//
// The agents' "model" is a scripted stand-in (StandInModel + Roles), so this runs anywhere; the tool calls it asks
// for are executed by the Agent Framework for real, against a real relay. With OPENAI_API_KEY set (and optionally
// OPENAI_BASE_URL for any OpenAI-compatible endpoint, OPENAI_MODEL, default gpt-4o-mini) a real model plays all three.
using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
try
{
    return await RunCrewAsync(timeout.Token);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"crew: {ex.Message}"); // a malformed CONTEXTRELAY_URL or OPENAI_BASE_URL, named in the message
    return 2;
}
catch (Exception ex) when (ex is HttpRequestException or System.ClientModel.ClientResultException
    or AggregateException { InnerException: HttpRequestException or System.ClientModel.ClientResultException })
{
    // A real model (OPENAI_API_KEY) that cannot be reached or refuses the call; its client retries before giving up.
    Console.Error.WriteLine($"crew: the model call failed ({(ex as AggregateException)?.InnerException?.Message ?? ex.Message}); check OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL, or unset OPENAI_API_KEY to use the stand-in.");
    return 1;
}
catch (OperationCanceledException) when (timeout.IsCancellationRequested)
{
    Console.Error.WriteLine("crew: the agents did not finish within 3 minutes.");
    return 1;
}

async Task<int> RunCrewAsync(CancellationToken cancellationToken)
{
    await using var local = Environment.GetEnvironmentVariable("CONTEXTRELAY_URL") is { Length: > 0 } ? null : await LocalRelay.StartAsync(cancellationToken);
    using var relay = new ContextRelay(local?.Options ?? ContextRelayOptions.FromEnvironment());
    var channel = "crew-" + Guid.NewGuid().ToString("N")[..8];
    var realModel = RealModel.FromEnvironment();
    Console.WriteLine($"relay {relay.Options.BaseUrl}{(local is null ? string.Empty : " (in-process)")}, channel {channel}, "
        + (realModel is null ? "scripted stand-in model" : $"model {realModel.GetService<ChatClientMetadata>()?.DefaultModelId}"));

    AIAgent Agent(string name, string role, Func<StandInModel, Task<string>> script)
    {
        // Every agent's tools are bound to the crew's channel: pushes go there, waits wait there.
        var tools = new ContextRelayTools(relay, new() { Channel = channel });
        return new ChatClientAgent(
            realModel ?? new StandInModel(script),
            instructions: $"You are the {name} of a crew of agents. {role} {ContextRelayTools.Instructions}",
            name: name,
            tools: [.. tools.Select(tool => new Narrated(name, tool))]);
    }

    var researcher = Agent("researcher", "Research the topic and push your notes.", Roles.ResearcherAsync);
    var writer = Agent("writer", "Wait for the research, read it, and push a draft article.", Roles.WriterAsync);
    var factChecker = Agent("fact-checker", "Wait for the research and the draft, and check every claim of the draft.", Roles.FactCheckerAsync);

    // All three start at once; the writer and the fact-checker block in wait_for_context until their input is pushed.
    var answers = await Task.WhenAll(
        RunAsync(researcher, "Research how AI agents hand large context to each other. Write detailed notes as numbered facts "
            + "(several thousand words), push them with push_context, and answer with the URL."),
        RunAsync(writer, "Wait for the research with wait_for_context (after_seq 0), peek_context it, read all of it with "
            + "pull_context page by page, write a draft article from it, push the draft with push_context, and answer with its URL."),
        RunAsync(factChecker, "Wait with wait_for_context (after_seq 0) for the research, then again (after_seq = its seq) for the "
            + "draft; pull both and check every claim of the draft against the research. Answer starting with 'Fact check:'."));
    foreach (var (name, answer) in answers)
    {
        Console.WriteLine($"{name}: {answer}");
    }

    return realModel is not null || answers[^1].Answer.StartsWith("Fact check:", StringComparison.Ordinal) ? 0 : 1;

    async Task<(string Name, string Answer)> RunAsync(AIAgent agent, string task)
        => (agent.Name!, (await agent.RunAsync(task, cancellationToken: cancellationToken)).Text);
}

/// <summary>Prints each tool call as the framework makes it.</summary>
internal sealed class Narrated(string agent, AIFunction tool) : DelegatingAIFunction(tool)
{
    protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        var shown = string.Join(", ", arguments.Select(a => $"{a.Key}: {Shorten(a.Value?.ToString())}"));
        Console.WriteLine($"  {agent} -> {Name}({shown})");
        return await base.InvokeCoreAsync(arguments, cancellationToken);
    }

    private static string Shorten(string? value)
        => value is null ? "null" : value.Length <= 100 ? value : $"{value[..40].ReplaceLineEndings(" ")}… ({value.Length:N0} chars)";
}
