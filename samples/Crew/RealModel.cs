using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;

namespace CtxRelay.Samples.Crew;

/// <summary>A real chat model for the crew when <c>OPENAI_API_KEY</c> is set; null otherwise.</summary>
internal static class RealModel
{
    public static IChatClient? FromEnvironment()
    {
        if (Environment.GetEnvironmentVariable("OPENAI_API_KEY") is not { Length: > 0 } key)
        {
            return null;
        }

        var options = new OpenAIClientOptions();
        if (Environment.GetEnvironmentVariable("OPENAI_BASE_URL") is { Length: > 0 } baseUrl)
        {
            options.Endpoint = new Uri(baseUrl);
        }

        var model = Environment.GetEnvironmentVariable("OPENAI_MODEL") is { Length: > 0 } name ? name : "gpt-4o-mini";
        return new OpenAIClient(new ApiKeyCredential(key), options).GetChatClient(model).AsIChatClient();
    }
}
