using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.ClaudeCode.Tests.Support;

/// <summary>
/// The real interactive Claude Code in a real tmux server of its own (<c>tmux -L ccr-…</c>), session
/// <c>agent</c>, started in the sandbox's project folder with the sandbox's environment. Disposing kills
/// the server.
/// </summary>
public sealed class ClaudeTui : IAsyncDisposable
{
    public const string Session = "agent";

    private ClaudeTui(ClaudeCodeSandbox sandbox, string socket)
    {
        Sandbox = sandbox;
        Socket = socket;
    }

    public ClaudeCodeSandbox Sandbox { get; }

    public string Socket { get; }

    /// <summary>The bridge's state directory (also <c>CONTEXTRELAY_BRIDGE_STATE_DIR</c> of the agent, for its Stop hook).</summary>
    public string StateDirectory => Path.Combine(Sandbox.Root, "state");

    /// <summary>
    /// Starts Claude Code in a <paramref name="width"/>×<paramref name="height"/> pane and waits for its
    /// prompt. The classic renderer (<c>"tui": "default"</c> in the user settings) draws inline, as the
    /// bridge needs: 2.1.331 otherwise defaults new installs to the full-screen (alternate-screen) renderer,
    /// whose output never reaches tmux's scrollback.
    /// </summary>
    public static async Task<ClaudeTui> StartAsync(ClaudeCodeSandbox sandbox, int width = 100, int height = 30, bool classicRenderer = true, CancellationToken cancellationToken = default)
    {
        var tui = new ClaudeTui(sandbox, "ccr-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(tui.StateDirectory);
        var settings = new JsonObject { ["tui"] = classicRenderer ? "default" : "fullscreen" };
        await File.WriteAllTextAsync(Path.Combine(sandbox.ConfigDirectory, "settings.json"), settings.ToJsonString(), cancellationToken);
        var launcher = sandbox.WriteLauncher(new Dictionary<string, string> { ["CONTEXTRELAY_BRIDGE_STATE_DIR"] = tui.StateDirectory });
        var config = Path.Combine(sandbox.Root, "tmux.conf");
        await File.WriteAllTextAsync(config, "set -g history-limit 50000\nset -g status off\n", cancellationToken);
        await tui.RunAsync(cancellationToken, "-f", config, "new-session", "-d", "-s", Session, "-x", width.ToString(), "-y", height.ToString(), "-c", sandbox.ProjectDirectory, launcher);
        await Wait.Until(
            async () =>
            {
                var screen = await tui.CaptureAsync(cancellationToken: cancellationToken);
                return screen.Contains('❯') && screen.Contains("shift+tab to cycle", StringComparison.Ordinal);
            },
            "Claude Code's prompt",
            TimeSpan.FromSeconds(60));
        return tui;
    }

    /// <summary>Runs <c>tmux -L socket args…</c>; returns standard output, fails on a non-zero exit.</summary>
    public async Task<string> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8 };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(Socket);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed: {await error}");
        }

        return await output;
    }

    /// <summary>The visible screen, or with <paramref name="history"/> the whole scrollback with colours, as the bridge reads it.</summary>
    public Task<string> CaptureAsync(bool history = false, CancellationToken cancellationToken = default)
        => history
            ? RunAsync(cancellationToken, "capture-pane", "-p", "-e", "-J", "-S", "-", "-t", Session)
            : RunAsync(cancellationToken, "capture-pane", "-p", "-t", Session);

    public async ValueTask DisposeAsync()
    {
        try
        {
            var socketPath = (await RunAsync(CancellationToken.None, "display-message", "-p", "#{socket_path}")).Trim();
            await RunAsync(CancellationToken.None, "kill-server");
            File.Delete(socketPath); // tmux leaves the socket file behind
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }
}
