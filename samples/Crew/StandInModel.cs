using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.AI;

namespace CtxRelay.Samples.Crew;

/// <summary>
/// A stand-in for a chat model, so the crew runs without one. Each agent's behaviour is a plain async method
/// (see <see cref="Roles"/>): <c>await model.CallAsync("pull_context", …)</c> answers the agent framework's request
/// with a tool call and resumes with the tool's result when the framework sends it back; the method's return value
/// is the final reply. The framework runs the tools for real, exactly as it would for a real model.
/// </summary>
internal sealed class StandInModel(Func<StandInModel, Task<string>> script) : IChatClient
{
    private static readonly ChatClientMetadata s_metadata = new("stand-in", defaultModelId: "scripted");
    private readonly Channel<ChatResponse> _replies = Channel.CreateUnbounded<ChatResponse>();
    private TaskCompletionSource<string>? _toolResult;

    /// <summary>What the user asked in the current run.</summary>
    public string Task { get; private set; } = string.Empty;

    /// <summary>Asks the framework to call <paramref name="tool"/> and returns the tool's result as text.</summary>
    public Task<string> CallAsync(string tool, Dictionary<string, object?> arguments)
    {
        _toolResult = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var call = new FunctionCallContent("call-" + Guid.NewGuid().ToString("N")[..8], tool, arguments);
        _replies.Writer.TryWrite(new ChatResponse(new ChatMessage(ChatRole.Assistant, [call])));
        return _toolResult.Task;
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var history = messages.ToList();
        if (_toolResult is { } pending)
        {
            // The framework ran the tool call we asked for and sent its result: resume the script with it.
            _toolResult = null;
            var result = history.LastOrDefault()?.Contents.OfType<FunctionResultContent>().LastOrDefault()?.Result;
            pending.SetResult(result switch
            {
                JsonElement { ValueKind: JsonValueKind.String } text => text.GetString()!,
                null => string.Empty,
                _ => result.ToString()!,
            });
        }
        else
        {
            Task = string.Join("\n", history.Where(m => m.Role == ChatRole.User).Select(m => m.Text));
            _ = RunScriptAsync();
        }

        return await _replies.Reader.ReadAsync(cancellationToken);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
        => serviceKey is not null ? null : serviceType == typeof(ChatClientMetadata) ? s_metadata : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private async Task RunScriptAsync()
    {
        string answer;
        try
        {
            answer = await script(this);
        }
        catch (Exception ex) when (ex is InvalidOperationException or JsonException or FormatException)
        {
            answer = $"I could not finish: {ex.Message}";
        }

        _replies.Writer.TryWrite(new ChatResponse(new ChatMessage(ChatRole.Assistant, answer)));
    }
}
