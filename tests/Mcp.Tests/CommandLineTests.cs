using System.Diagnostics;

namespace CtxRelay.Mcp.Tests;

/// <summary>The server's command line: --help and --version answer at once; anything else is a one-line error.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("--help", 0, "CONTEXTRELAY_API_KEY")]
    [InlineData("--version", 0, "0.")]
    [InlineData("--hlep", 2, "did you mean '--help'?")]
    [InlineData("serve", 2, "It takes none")]
    public async Task Arguments_answer_at_once_instead_of_waiting_on_stdin(string argument, int exitCode, string expected)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(McpServerProcess.ServerPath);
        start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)); // stdin stays open: a server would never exit

        Assert.Equal(exitCode, process.ExitCode);
        var output = exitCode == 0 ? await stdout : await stderr;
        Assert.Contains(expected, output, StringComparison.Ordinal);
        if (exitCode != 0)
        {
            Assert.Single(output.Trim().Split('\n'));
            Assert.Equal(string.Empty, await stdout); // stdout is the protocol's: nothing else goes there
        }
    }
}
