using System.Diagnostics;
using System.Text.Json;
using CtxRelay.Testing;

namespace CtxRelay.Mcp.Tests;

/// <summary>stdout is the protocol channel: nothing else may ever be written to it, even while failing.</summary>
public sealed class StdoutTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task Stdout_carries_only_json_rpc_while_logs_go_to_stderr()
    {
        var ct = TestText.Timeout();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(McpServerProcess.ServerPath);
        start.Environment["CONTEXTRELAY_URL"] = relay.BaseUrl;
        start.Environment["CONTEXTRELAY_API_KEY"] = "cr_live_wrongwrongwrongwrongwrongwrong00";
        start.Environment["Logging__LogLevel__Default"] = "Trace";

        using var server = Process.Start(start)!;
        var stderr = server.StandardError.ReadToEndAsync(ct);
        try
        {
            string[] requests =
            [
                """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""",
                """{"jsonrpc":"2.0","method":"notifications/initialized"}""",
                """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"push_context","arguments":{"data":"x"}}}""",
                """{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"pull_context","arguments":{"url":"nonsense ###"}}}""",
                """{"jsonrpc":"2.0","id":4,"method":"tools/list"}""",
            ];
            foreach (var request in requests)
            {
                await server.StandardInput.WriteLineAsync(request.AsMemory(), ct);
            }

            await server.StandardInput.FlushAsync(ct);

            var answered = new HashSet<int>();
            while (answered.Count < 4)
            {
                var line = await Wait.For(server.StandardOutput.ReadLineAsync(ct).AsTask(), "the server's answers");
                Assert.NotNull(line);
                using var message = JsonDocument.Parse(line); // anything but JSON here would break every client
                Assert.Equal("2.0", message.RootElement.GetProperty("jsonrpc").GetString());
                if (message.RootElement.TryGetProperty("id", out var id))
                {
                    answered.Add(id.GetInt32());
                }
            }

            server.StandardInput.Close(); // a client going away ends the server
            await server.WaitForExitAsync(ct);
            Assert.Null(await server.StandardOutput.ReadLineAsync(ct));
            Assert.Contains("push_context", await stderr);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill();
            }
        }
    }
}
