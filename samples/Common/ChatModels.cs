using System.ClientModel;
using Anthropic;
using Microsoft.Extensions.AI;
using OpenAI;

namespace CtxRelay.Samples;

/// <summary>
/// Picks the chat model a sample talks to from the environment, the same way in every sample:
/// <list type="bullet">
/// <item><c>OPENAI_API_KEY</c> (+ optional <c>OPENAI_BASE_URL</c>, <c>OPENAI_MODEL</c>): any OpenAI-compatible
/// endpoint — OpenAI itself, or Ollama with <c>OPENAI_BASE_URL=http://localhost:11434/v1</c>;</item>
/// <item>otherwise <c>ANTHROPIC_API_KEY</c> (+ optional <c>ANTHROPIC_BASE_URL</c>, <c>ANTHROPIC_MODEL</c>): Claude
/// through the official <c>Anthropic</c> package's <see cref="IChatClient"/>;</item>
/// <item>otherwise the sample's scripted stand-in, so every sample runs (and is tested) without a model.</item>
/// </list>
/// </summary>
public static class ChatModels
{
    public const string DefaultOpenAIModel = "gpt-4o-mini";

    public const string DefaultAnthropicModel = "claude-sonnet-4-5";

    /// <summary>
    /// The model from the environment, or <paramref name="standIn"/> when no model is configured. When both
    /// providers are configured, <paramref name="prefer"/> picks one — so two agents can run on two different
    /// models (the default prefers the OpenAI-compatible one).
    /// </summary>
    public static SampleModel FromEnvironment(ScriptedChatClient standIn, ModelProvider prefer = ModelProvider.OpenAI)
    {
        ArgumentNullException.ThrowIfNull(standIn);
        var openAI = Variable("OPENAI_API_KEY") is not null;
        var anthropic = Variable("ANTHROPIC_API_KEY") is not null;
        return (openAI, anthropic) switch
        {
            (true, true) => prefer == ModelProvider.Anthropic ? Anthropic() : OpenAI(),
            (true, false) => OpenAI(),
            (false, true) => Anthropic(),
            _ => new SampleModel(standIn, $"scripted stand-in '{standIn.Name}' (set OPENAI_API_KEY or ANTHROPIC_API_KEY for a real model)"),
        };
    }

    private static SampleModel OpenAI()
    {
        var model = Variable("OPENAI_MODEL") ?? DefaultOpenAIModel;
        var options = new OpenAIClientOptions();
        if (Variable("OPENAI_BASE_URL") is { } baseUrl)
        {
            options.Endpoint = ContextRelayOptions.ParseBaseUrl(baseUrl, "OPENAI_BASE_URL");
        }

        var client = new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(Variable("OPENAI_API_KEY")!), options).AsIChatClient();
        return new SampleModel(client, $"{model} at {options.Endpoint?.Authority ?? "api.openai.com"}");
    }

    private static SampleModel Anthropic()
    {
        var model = Variable("ANTHROPIC_MODEL") ?? DefaultAnthropicModel;
        var client = new AnthropicClient().AsIChatClient(model, defaultMaxOutputTokens: 4096); // key and ANTHROPIC_BASE_URL from the environment
        return new SampleModel(client, $"{model} (Anthropic)");
    }

    private static string? Variable(string name)
        => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value.Trim() : null;
}

/// <summary>Which provider to use when the environment configures both.</summary>
public enum ModelProvider
{
    OpenAI,
    Anthropic,
}

/// <summary>A chat model and how to name it in a sample's output.</summary>
public sealed class SampleModel(IChatClient client, string name) : IDisposable
{
    public IChatClient Client { get; } = client;

    public string Name { get; } = name;

    /// <summary>One turn: <paramref name="instructions"/> as the system message, <paramref name="input"/> as the user's.</summary>
    /// <exception cref="SampleModelException">The model could not be reached or refused the request.</exception>
    public async Task<string> AskAsync(string instructions, string input, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await Client.GetResponseAsync(
                [new ChatMessage(ChatRole.System, instructions), new ChatMessage(ChatRole.User, input)],
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.Text.Trim();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Each provider's package has its own exceptions; what a user needs is the same: which model, what it said, what to check.
            var cause = ex;
            while (cause.InnerException is { } inner)
            {
                cause = inner; // "Connection refused (host:port)" rather than "Retry failed after 4 tries (…) (…)"
            }

            var detail = cause.Message.Split('\n', 2)[0].Trim().TrimEnd('.');
            throw new SampleModelException($"the model {Name} failed: {detail}. Check OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL or ANTHROPIC_API_KEY / ANTHROPIC_MODEL.", ex);
        }
    }

    public void Dispose() => Client.Dispose();
}

/// <summary>A chat model could not answer; the message names the model and the variables to check.</summary>
public sealed class SampleModelException(string message, Exception innerException) : Exception(message, innerException);
