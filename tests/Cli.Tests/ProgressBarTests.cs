using System.Diagnostics;
using CtxRelay.Testing;

namespace CtxRelay.Cli.Tests;

/// <summary>
/// The progress bar is drawn when stderr is a terminal: the tool runs under util-linux <c>script</c>, which
/// gives it a pseudo-terminal, as a person's shell would. (When stderr is piped, the 25 MB test in
/// <see cref="PayloadCommandTests"/> asserts that stderr stays empty.)
/// </summary>
public sealed class ProgressBarTests(RelayFixture relay) : IClassFixture<RelayFixture>, IDisposable
{
    private readonly TemporaryDirectory _files = new("cli-tty");

    public void Dispose() => _files.Dispose();

    private async Task<string> RunOnTerminalAsync(string commandLine)
    {
        var script = Executables.Require("script", "util-linux");
        var start = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _files.Path };
        foreach (var arg in new[] { "-q", "-e", "-c", commandLine, "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CONTEXTRELAY_URL"] = relay.BaseUrl;
        start.Environment["CONTEXTRELAY_API_KEY"] = relay.ApiKey;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await Wait.For(process.WaitForExitAsync().ContinueWith(_ => true), commandLine, TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, $"{commandLine}: exit {process.ExitCode}\n{await output}\n{await errors}");
        return await output;
    }

    [Fact]
    public async Task Big_transfers_draw_a_bar_on_a_terminal_and_small_ones_do_not()
    {
        var bytes = new byte[6_000_000];
        new Random(6).NextBytes(bytes);
        var big = Path.Combine(_files.Path, "big.bin");
        await File.WriteAllBytesAsync(big, bytes);
        await File.WriteAllTextAsync(Path.Combine(_files.Path, "small.txt"), "small");
        var tool = $"dotnet '{CliTool.ToolPath}'";

        // stdout goes to a file, so what the terminal shows is stderr alone.
        var pushScreen = await RunOnTerminalAsync($"{tool} push big.bin > url.txt");
        Assert.Contains("push [", pushScreen, StringComparison.Ordinal);
        Assert.Contains("100% 5.7/5.7 MB", pushScreen, StringComparison.Ordinal);
        var url = (await File.ReadAllTextAsync(Path.Combine(_files.Path, "url.txt"))).Trim();
        Assert.StartsWith(relay.BaseUrl + "/pull/", url, StringComparison.Ordinal);

        var pullScreen = await RunOnTerminalAsync($"{tool} pull '{url}' -o copy.bin");
        Assert.Contains("pull [", pullScreen, StringComparison.Ordinal);
        Assert.Contains("100% 5.7/5.7 MB", pullScreen, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(_files.Path, "copy.bin")));

        var smallScreen = await RunOnTerminalAsync($"{tool} push small.txt > small-url.txt");
        Assert.DoesNotContain("push [", smallScreen, StringComparison.Ordinal);
    }
}
