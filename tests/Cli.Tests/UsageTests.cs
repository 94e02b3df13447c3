using System.Diagnostics;
using System.Text.RegularExpressions;
using CtxRelay.Testing;

namespace CtxRelay.Cli.Tests;

/// <summary>Usage errors, --version, --help and shell completion: no relay needed.</summary>
public sealed class UsageTests : IDisposable
{
    private readonly CliTool _cli = new("http://127.0.0.1:9", "cr_live_unused");
    private readonly TemporaryDirectory _bin = new("cli-bin");

    public void Dispose() => _bin.Dispose();

    private static void AssertUsage(CliResult result, string expected)
    {
        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(result.StandardOutputBytes);
    }

    [Fact]
    public async Task An_unknown_command_exits_2_naming_the_nearest_one()
    {
        AssertUsage(await _cli.RunAsync("pus", "file.txt"), "unknown command 'pus' for 'contextrelay'; did you mean 'push'?");
        AssertUsage(await _cli.RunAsync("subscirbe", "jobs"), "did you mean 'subscribe'?");
        AssertUsage(await _cli.RunAsync("frobnicate"), "the commands are push, pull, peek, delete, publish, subscribe, history, completion.");
    }

    [Fact]
    public async Task An_unknown_option_exits_2_naming_the_nearest_one_even_where_an_argument_could_take_it()
    {
        AssertUsage(await _cli.RunAsync("push", "--chanel", "jobs", "file.txt"), "unknown option '--chanel' for 'contextrelay push'; did you mean '--channel'?");
        AssertUsage(await _cli.RunAsync("history", "jobs", "--sinse", "3"), "did you mean '--since'?");
        AssertUsage(await _cli.RunAsync("pull", "--ulr", "http://x"), "did you mean '--url'?");
    }

    [Fact]
    public async Task A_missing_argument_exits_2_pointing_at_help()
    {
        AssertUsage(await _cli.RunAsync("pull"), "See 'contextrelay pull --help'.");
        AssertUsage(await _cli.RunAsync("completion", "fish"), "See 'contextrelay completion --help'.");
        AssertUsage(await _cli.RunAsync("subscribe", "jobs", "--group", "bad group!"), "'bad group!' is not a valid group name (1–200 characters");
        AssertUsage(await _cli.RunAsync("publish", "my channel", "hi"), "'my channel' is not a valid channel name");
        AssertUsage(await _cli.RunAsync("push", "-c", "_jobs", "file.txt"), "'_jobs' is not a valid channel name");
    }

    [Fact]
    public async Task In_process_invocation_writes_to_the_given_writers()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var configuration = new System.CommandLine.InvocationConfiguration { Output = output, Error = error };

        Assert.Equal(2, await RelayCli.InvokeAsync(["peek", "--jsn", "x"], configuration));
        Assert.Equal("contextrelay: unknown option '--jsn' for 'contextrelay peek'; did you mean '--json'? See 'contextrelay peek --help'.\n", error.ToString());

        Assert.Equal(0, await RelayCli.InvokeAsync(["completion", "zsh"], configuration));
        Assert.StartsWith("# contextrelay completion for zsh", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_and_help_list_each_option_once()
    {
        var version = await _cli.RunAsync("--version");
        Assert.Equal(0, version.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.StandardOutput);

        var help = await _cli.RunAsync("push", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var option in new[] { "--channel", "--meta", "--summary", "--encrypt", "--ttl", "--content-type", "--json", "--url", "--api-key", "--help" })
        {
            Assert.Single(Regex.Matches(help.StandardOutput, $@"(?<![\w-]){Regex.Escape(option)}(?![\w-])"));
        }

        var root = await _cli.RunAsync("--help");
        foreach (var command in new[] { "push", "pull", "peek", "delete", "publish", "subscribe", "history", "completion" })
        {
            Assert.Matches($@"(?m)^\s+{command}\b", root.StandardOutput);
        }
    }

    [Fact]
    public async Task The_suggest_directive_completes_commands_and_options()
    {
        var commands = await _cli.RunAsync("[suggest:15]", "contextrelay pu");
        Assert.Equal(["publish", "pull", "push"], commands.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var options = await _cli.RunAsync("[suggest:21]", "contextrelay push --c");
        Assert.Equal(["--channel", "--content-type"], options.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task The_bash_completion_script_completes_in_a_real_bash()
    {
        var script = await _cli.RunAsync("completion", "bash");
        Assert.Equal(0, script.ExitCode);
        var scriptPath = Path.Combine(_bin.Path, "completion.bash");
        await File.WriteAllTextAsync(scriptPath, script.StandardOutput);

        // `contextrelay` on PATH, as after `dotnet tool install -g`.
        var shim = Path.Combine(_bin.Path, "contextrelay");
        await File.WriteAllTextAsync(shim, $"#!/bin/sh\nexec dotnet '{CliTool.ToolPath}' \"$@\"\n");
        Assert.False(OperatingSystem.IsWindows(), "bash completion is tested on Unix");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var bash = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        bash.ArgumentList.Add("-c");
        bash.ArgumentList.Add($"""
            export PATH='{_bin.Path}':"$PATH"
            source '{scriptPath}'
            COMP_LINE='contextrelay sub'; COMP_POINT=${"{"}#COMP_LINE{"}"}; COMP_WORDS=(contextrelay sub); COMP_CWORD=1
            _contextrelay_complete; echo "words: ${"{"}COMPREPLY[*]{"}"}"
            COMP_LINE='contextrelay push --ch'; COMP_POINT=${"{"}#COMP_LINE{"}"}; COMP_WORDS=(contextrelay push --ch); COMP_CWORD=2
            _contextrelay_complete; echo "options: ${"{"}COMPREPLY[*]{"}"}"
            complete -p contextrelay
            """);
        using var process = Process.Start(bash)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, output + errors);
        Assert.Contains("words: subscribe\n", output, StringComparison.Ordinal);
        Assert.Contains("options: --channel\n", output, StringComparison.Ordinal);
        Assert.Contains("complete -o default -F _contextrelay_complete contextrelay", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zsh_and_pwsh_scripts_ask_the_tool_through_the_suggest_directive()
    {
        foreach (var (shell, registration) in new[] { ("zsh", "compdef _contextrelay_complete contextrelay"), ("pwsh", "Register-ArgumentCompleter -Native -CommandName contextrelay") })
        {
            var script = await _cli.RunAsync("completion", shell);
            Assert.Equal(0, script.ExitCode);
            Assert.Contains(registration, script.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("[suggest:", script.StandardOutput, StringComparison.Ordinal);
        }
    }
}
