using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace CtxRelay.Samples;

/// <summary>
/// A deterministic stand-in for a chat model: <c>script</c> turns the last user message into the answer.
/// Samples use it when no model is configured, so they run — and are tested — anywhere.
/// </summary>
public sealed class ScriptedChatClient(string name, Func<string, string> script) : IChatClient
{
    public string Name { get; } = name;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, Answer(messages))) { ModelId = Name });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, Answer(messages)) { ModelId = Name };
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
        => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private string Answer(IEnumerable<ChatMessage> messages)
        => script(messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? string.Empty);
}
