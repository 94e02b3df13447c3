using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace CtxRelay.Extensions.AI.Tests;

/// <summary>
/// A stand-in model: each request is answered by a script (a tool call or a final reply) that sees exactly what a
/// model would see, and every request is recorded. It runs under the real function-invoking clients and agents,
/// which execute the tool calls it asks for and send it the results.
/// </summary>
internal sealed class ScriptedChatClient(Func<ScriptedTurn, ChatResponse> script) : IChatClient
{
    private static readonly ChatClientMetadata s_metadata = new("scripted", defaultModelId: "stand-in");
    private readonly Lock _lock = new();
    private readonly List<ScriptedTurn> _turns = [];

    /// <summary>Every request so far, in order.</summary>
    public IReadOnlyList<ScriptedTurn> Turns
    {
        get
        {
            lock (_lock)
            {
                return [.. _turns];
            }
        }
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ScriptedTurn turn;
        lock (_lock)
        {
            turn = new ScriptedTurn(_turns.Count, [.. messages], options);
            _turns.Add(turn);
        }

        return Task.FromResult(script(turn));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? s_metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }

    /// <summary>A reply that asks for one tool call.</summary>
    public static ChatResponse Call(string tool, Dictionary<string, object?> arguments)
        => new(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call-" + Guid.NewGuid().ToString("N")[..8], tool, arguments)]));

    /// <summary>A final reply.</summary>
    public static ChatResponse Say(string text) => new(new ChatMessage(ChatRole.Assistant, text));
}

/// <summary>One request to the stand-in model: the messages and options it was given.</summary>
internal sealed record ScriptedTurn(int Index, IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)
{
    /// <summary>The names of the tools offered in this request.</summary>
    public IReadOnlyList<string> ToolNames => Options?.Tools?.Select(t => t.Name).ToArray() ?? [];

    /// <summary>
    /// The offered tool whose name is <paramref name="name"/> or ends in it (Semantic Kernel prefixes the plugin's
    /// name), as a model would pick it from the list.
    /// </summary>
    public string Tool(string name)
        => ToolNames.SingleOrDefault(n => n == name || n.EndsWith("-" + name, StringComparison.Ordinal) || n.EndsWith("_" + name, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"No tool '{name}' was offered; offered: {string.Join(", ", ToolNames)}.");

    /// <summary>What the user said.</summary>
    public string UserText => string.Join("\n", Messages.Where(m => m.Role == ChatRole.User).Select(m => m.Text));

    /// <summary>The result of the tool call just made, as text; null when the last message is not a tool result.</summary>
    public string? LastToolResult => Messages.Count > 0 && Messages[^1].Contents.OfType<FunctionResultContent>().LastOrDefault() is { } result
        ? AsText(result.Result)
        : null;

    public static string? AsText(object? result) => result switch
    {
        null => null,
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
        JsonElement e => e.GetRawText(),
        IEnumerable<AIContent> contents => string.Concat(contents.OfType<TextContent>().Select(c => c.Text)),
        _ => result.ToString(),
    };
}
