using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace CtxRelay.Mcp.Tests;

/// <summary>
/// The built contextrelay-mcp server running as a child process, driven over stdio by the MCP SDK's own
/// client, exactly as Claude Code or Cursor would start it.
/// </summary>
internal sealed class McpServerProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _stderr;

    private McpServerProcess(McpClient client, ConcurrentQueue<string> stderr)
    {
        Client = client;
        _stderr = stderr;
    }

    public McpClient Client { get; }

    /// <summary>What the server wrote to stderr so far (its logs).</summary>
    public string StandardError => string.Join(Environment.NewLine, _stderr);

    public static string ServerPath { get; } = typeof(McpServerProcess).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "McpServerPath").Value!;

    /// <summary>Starts the server; a null <paramref name="apiKey"/> or <paramref name="relayUrl"/> leaves that variable unset.</summary>
    public static async Task<McpServerProcess> StartAsync(string? relayUrl, string? apiKey, CancellationToken cancellationToken)
    {
        Assert.True(File.Exists(ServerPath), $"The server is not built at {ServerPath}.");
        var stderr = new ConcurrentQueue<string>();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "contextrelay-mcp",
            Command = "dotnet",
            Arguments = [ServerPath],
            WorkingDirectory = Path.GetTempPath(),
            EnvironmentVariables = new Dictionary<string, string?>
            {
                // Null unsets a variable the test runner may have inherited.
                ["CONTEXTRELAY_URL"] = relayUrl,
                ["CONTEXTRELAY_API_KEY"] = apiKey,
            },
            StandardErrorLines = stderr.Enqueue,
        });
        var client = await McpClient.CreateAsync(transport, cancellationToken: cancellationToken);
        return new McpServerProcess(client, stderr);
    }

    public async Task<CallToolResult> CallAsync(string tool, object arguments, CancellationToken cancellationToken, IProgress<ModelContextProtocol.ProgressNotificationValue>? progress = null)
    {
        var node = System.Text.Json.JsonSerializer.SerializeToNode(arguments)!.AsObject();
        var args = node.ToDictionary(p => p.Key, p => (object?)p.Value?.DeepClone());
        return await Client.CallToolAsync(tool, args, progress, cancellationToken: cancellationToken);
    }

    /// <summary>Calls a tool that must succeed and returns its first text block.</summary>
    public async Task<string> CallTextAsync(string tool, object arguments, CancellationToken cancellationToken)
    {
        var result = await CallAsync(tool, arguments, cancellationToken);
        Assert.False(result.IsError is true, $"{tool} failed: {result.AllText()}\nServer stderr:\n{StandardError}");
        return result.Text();
    }

    /// <summary>Calls a tool that must fail and returns its error text.</summary>
    public async Task<string> CallErrorAsync(string tool, object arguments, CancellationToken cancellationToken)
    {
        var result = await CallAsync(tool, arguments, cancellationToken);
        Assert.True(result.IsError is true, $"{tool} was expected to fail but returned: {result.AllText()}");
        return result.AllText();
    }

    public async Task<JsonObject> CallJsonAsync(string tool, object arguments, CancellationToken cancellationToken)
        => JsonNode.Parse(await CallTextAsync(tool, arguments, cancellationToken))!.AsObject();

    public async ValueTask DisposeAsync() => await Client.DisposeAsync();
}

internal static class CallToolResultExtensions
{
    public static string Text(this CallToolResult result, int index = 0)
        => Assert.IsType<TextContentBlock>(result.Content[index]).Text;

    public static string AllText(this CallToolResult result)
        => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));
}
