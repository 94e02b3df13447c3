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
// for are executed by the Agent Framework for real, against a real relay.
using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
await using var local = Environment.GetEnvironmentVariable("CONTEXTRELAY_URL") is { Length: > 0 } ? null : await LocalRelay.StartAsync(timeout.Token);
using var relay = new ContextRelay(local?.Options ?? ContextRelayOptions.FromEnvironment());
var channel = "crew-" + Guid.NewGuid().ToString("N")[..8];
Console.WriteLine($"relay {relay.Options.BaseUrl}{(local is null ? string.Empty : " (in-process)")}, channel {channel}");

AIAgent Agent(string name, string role, Func<StandInModel, Task<string>> script)
{
    // Every agent's tools are bound to the crew's channel: pushes go there, waits wait there.
    var tools = new ContextRelayTools(relay, new() { Channel = channel });
    return new ChatClientAgent(
        new StandInModel(script),
        instructions: $"You are the {name} of a crew of agents. {role} {ContextRelayTools.Instructions}",
        name: name,
        tools: [.. tools.Select(tool => new Narrated(name, tool))]);
}

var researcher = Agent("researcher", "Research the topic and push your notes.", Roles.ResearcherAsync);
var writer = Agent("writer", "Wait for the research, read it, and push a draft article.", Roles.WriterAsync);
var factChecker = Agent("fact-checker", "Wait for the research and the draft, and check every claim of the draft.", Roles.FactCheckerAsync);

// All three start at once; the writer and the fact-checker block in wait_for_context until their input is pushed.
var runs = new[]
{
    Run(researcher, "Research how agents hand large context to each other."),
    Run(writer, "Write an article from the research."),
    Run(factChecker, "Fact-check the draft against the research."),
};
var answers = await Task.WhenAll(runs);
foreach (var (name, answer) in answers)
{
    Console.WriteLine($"{name}: {answer}");
}

return answers[^1].Answer.StartsWith("Fact check:", StringComparison.Ordinal) ? 0 : 1;

async Task<(string Name, string Answer)> Run(AIAgent agent, string task)
    => (agent.Name!, (await agent.RunAsync(task, cancellationToken: timeout.Token)).Text);

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
