using System.ComponentModel;
using CtxRelay.Extensions.AI;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace CtxRelay.Mcp;

/// <summary>Payloads as MCP resources: <c>contextrelay://{id}</c> reads the payload with that id.</summary>
[McpServerResourceType]
internal sealed class PayloadResources(PayloadReader reader)
{
    public const string UriTemplate = "contextrelay://{id}";

    [McpServerResource(UriTemplate = UriTemplate, Name = "contextrelay_payload", Title = "ContextRelay payload", MimeType = "text/plain")]
    [Description(
        "The text of the ContextRelay payload with this id (the last path segment of its …/pull/<id> URL). Encrypted "
        + "payloads cannot be read this way, since the key is not part of a resource URI: use the pull_context tool with "
        + "the whole URL, #key=… included.")]
    public async Task<TextResourceContents> ReadPayloadAsync(
        RequestContext<ReadResourceRequestParams> context,
        [Description("The payload id.")] string id,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new McpException($"A payload resource URI is contextrelay://<id>, with the id from the payload's …/pull/<id> URL.");
        }

        string text;
        try
        {
            text = await reader.ReadTextAsync(Uri.UnescapeDataString(id), cancellationToken).ConfigureAwait(false);
        }
        catch (ContextRelayToolException ex)
        {
            throw new McpException(ex.Message, ex);
        }

        return new TextResourceContents { Uri = context.Params?.Uri ?? $"contextrelay://{id}", MimeType = "text/plain", Text = text };
    }
}
