using System.Diagnostics;
using System.Text;
using CtxRelay.Testing;

namespace CtxRelay.Bridge.Tests.Support;

/// <summary>
/// A real tmux server of its own (<c>tmux -L crb-…</c>) with the stand-in agent running in session
/// <c>agent</c>, and a scratch directory for the agent's cwd, its turn logs and the bridge state.
/// Disposing kills the server and removes the directory.
/// </summary>
public sealed class TmuxServer : IAsyncDisposable
{
    public const string Session = "agent";

    private TmuxServer(string socket, string directory)
    {
        Socket = socket;
        Directory = directory;
    }

    public string Socket { get; }

    /// <summary>The scratch directory (the agent's cwd; holds <c>.claude/settings.json</c> when a hook is installed).</summary>
    public string Directory { get; }

    public string LogDirectory => Path.Combine(Directory, "turns");

    public string StateDirectory => Path.Combine(Directory, "state");

    public static string StandInScript => Path.Combine(AppContext.BaseDirectory, "StandIn", "standin.py");

    /// <summary>Starts a server with the stand-in in a <paramref name="width"/>×<paramref name="height"/> pane and waits for its prompt.</summary>
    public static async Task<TmuxServer> StartStandInAsync(int width = 100, int height = 30, int historyLimit = 20000, Func<string, Task>? prepare = null)
    {
        var server = new TmuxServer("crb-" + Guid.NewGuid().ToString("N")[..10], Path.Combine(Path.GetTempPath(), "crb-tests", Guid.NewGuid().ToString("N")[..10]));
        System.IO.Directory.CreateDirectory(server.LogDirectory);
        System.IO.Directory.CreateDirectory(server.StateDirectory);
        if (prepare is not null)
        {
            await prepare(server.Directory);
        }

        var config = Path.Combine(server.Directory, "tmux.conf");
        await File.WriteAllTextAsync(config, $"set -g history-limit {historyLimit}\nset -g status off\n");
        await server.RunAsync(
            "-f", config, "new-session", "-d", "-s", Session, "-x", width.ToString(), "-y", height.ToString(), "-c", server.Directory,
            "-e", "STANDIN_LOG=" + server.LogDirectory,
            "-e", "CONTEXTRELAY_BRIDGE_STATE_DIR=" + server.StateDirectory,
            "python3 '" + StandInScript + "'");
        await server.WaitForScreenAsync(screen => screen.Contains("? for shortcuts", StringComparison.Ordinal), "the stand-in's prompt");
        return server;
    }

    /// <summary>Starts a server whose only session runs a plain shell (for error tests).</summary>
    public static async Task<TmuxServer> StartShellAsync()
    {
        var server = new TmuxServer("crb-" + Guid.NewGuid().ToString("N")[..10], Path.Combine(Path.GetTempPath(), "crb-tests", Guid.NewGuid().ToString("N")[..10]));
        System.IO.Directory.CreateDirectory(server.StateDirectory);
        await server.RunAsync("-f", "/dev/null", "new-session", "-d", "-s", Session, "-x", "80", "-y", "24", "sh");
        return server;
    }

    /// <summary>Runs <c>tmux -L socket args…</c>; returns standard output, fails on a non-zero exit.</summary>
    public async Task<string> RunAsync(params string[] args)
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
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed: {await error}");
        }

        return await output;
    }

    public async Task<string> CaptureAsync(bool history = false)
        => history ? await RunAsync("capture-pane", "-p", "-J", "-S", "-", "-t", Session) : await RunAsync("capture-pane", "-p", "-t", Session);

    public Task WaitForScreenAsync(Func<string, bool> condition, string what, TimeSpan? timeout = null)
        => Wait.Until(async () => condition(await CaptureAsync()), what, timeout);

    /// <summary>A file the stand-in wrote for turn <paramref name="turn"/> (<c>task.txt</c>, <c>answer.txt</c>, <c>message.md</c>).</summary>
    public string Turn(int turn, string name) => File.ReadAllText(TurnPath(turn, name));

    public string TurnPath(int turn, string name) => Path.Combine(LogDirectory, $"turn-{turn}.{name}");

    public async ValueTask DisposeAsync()
    {
        try
        {
            var socketPath = (await RunAsync("display-message", "-p", "#{socket_path}")).Trim();
            await RunAsync("kill-server");
            File.Delete(socketPath); // tmux leaves the socket file behind
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
