using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CtxRelay.Bridge.Internal;

/// <summary>
/// Runs tmux commands against one server (the default one, or <c>-L name</c> / <c>-S path</c>).
/// Every call is a short-lived <c>tmux</c> client process; nothing is typed key by key.
/// </summary>
internal sealed class Tmux
{
    private readonly string _executable;
    private readonly string? _socket;

    /// <param name="socket">A socket name (<c>-L</c>) or, when it contains a slash, a socket path (<c>-S</c>); null for the default server (or the one in <c>$TMUX</c>).</param>
    public Tmux(string? socket = null, string executable = "tmux")
    {
        _socket = string.IsNullOrWhiteSpace(socket) ? null : socket;
        _executable = executable;
    }

    /// <summary>Runs <c>tmux args…</c> and returns its standard output; throws <see cref="BridgeException"/> on failure.</summary>
    public async Task<string> RunAsync(IReadOnlyList<string> args, string? input = null, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        };
        start.ArgumentList.Add("-u"); // UTF-8 whatever the locale says
        if (_socket is not null)
        {
            start.ArgumentList.Add(_socket.Contains('/', StringComparison.Ordinal) ? "-S" : "-L");
            start.ArgumentList.Add(_socket);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new BridgeException("tmux could not be started.");
        }
        catch (Win32Exception ex)
        {
            throw new BridgeException(
                $"tmux is not installed or not on PATH ({ex.Message}); install it, e.g. 'apt-get install tmux' or 'brew install tmux'.",
                ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                if (input is not null)
                {
                    await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken).ConfigureAwait(false);
                }

                process.StandardInput.Close();
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                TryKill(process);
                throw;
            }

            var output = await stdout.ConfigureAwait(false);
            var error = (await stderr.ConfigureAwait(false)).Trim();
            if (process.ExitCode != 0)
            {
                throw new TmuxCommandException(args.Count > 0 ? args[0] : "tmux", error);
            }

            return output;
        }
    }

    /// <summary>Checks that tmux runs at all (so a missing tmux is reported before anything else).</summary>
    public async Task<string> VersionAsync(CancellationToken cancellationToken = default)
        => (await RunAsync(["-V"], cancellationToken: cancellationToken).ConfigureAwait(false)).Trim();

    /// <summary>Resolves a target (<c>session[:window[.pane]]</c> or <c>%id</c>) to one pane, with clear errors.</summary>
    public async Task<PaneInfo> ResolvePaneAsync(PaneTarget target, CancellationToken cancellationToken = default)
    {
        // list-panes fails on a missing session or window (display-message would quietly fall back).
        const string Format = "#{pane_id}\t#{pane_index}\t#{pane_active}\t#{session_name}\t#{window_index}\t#{socket_path}\t#{pane_pid}\t#{pane_dead}";
        string output;
        try
        {
            output = await RunAsync(["list-panes", "-t", target.ToTmuxWindowTarget(), "-F", Format], cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (TmuxCommandException ex)
        {
            throw new BridgeException(DescribeTargetFailure(target, ex.Error), ex);
        }

        var panes = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.TrimEnd('\r').Split('\t'))
            .Where(fields => fields.Length >= 8)
            .ToList();
        var chosen = target switch
        {
            { Session: ['%', ..] } => panes.FirstOrDefault(f => f[0] == target.Session),
            { Pane: ['%', ..] } => panes.FirstOrDefault(f => f[0] == target.Pane),
            { Pane: { } index } => panes.FirstOrDefault(f => f[1] == index),
            _ => panes.FirstOrDefault(f => f[2] == "1") ?? panes.FirstOrDefault(),
        };
        if (chosen is null)
        {
            throw new BridgeException(target.Pane is null
                ? $"tmux found no pane for {target}."
                : $"The tmux window has no pane '{target.Pane}' ('tmux list-panes -t {target.Session}' lists them).");
        }

        if (chosen[7] == "1")
        {
            throw new BridgeException($"The pane {target} ({chosen[0]}) is dead: the program in it has exited.");
        }

        return new PaneInfo(chosen[0], chosen[3], chosen[4], chosen[1], chosen[5], int.TryParse(chosen[6], CultureInfo.InvariantCulture, out var pid) ? pid : 0);
    }

    /// <summary>Scrollback size, cursor row and height of a pane.</summary>
    public async Task<PanePosition> GetPositionAsync(string paneId, CancellationToken cancellationToken = default)
    {
        var output = await RunAsync(
            ["display-message", "-p", "-t", paneId, "#{history_size} #{cursor_y} #{pane_height} #{history_limit} #{alternate_on}"],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var parts = output.Trim().Split(' ');
        return new PanePosition(
            int.Parse(parts[0], CultureInfo.InvariantCulture),
            int.Parse(parts[1], CultureInfo.InvariantCulture),
            int.Parse(parts[2], CultureInfo.InvariantCulture),
            int.Parse(parts[3], CultureInfo.InvariantCulture),
            parts.Length > 4 && parts[4] == "1");
    }

    /// <summary>
    /// The pane's text from line <paramref name="start"/> to <paramref name="end"/> (0 = first visible
    /// line, negative = scrollback; null = the visible screen's edges), without escapes. With
    /// <paramref name="join"/>, lines the terminal wrapped are joined; without, one line per row.
    /// </summary>
    public async Task<IReadOnlyList<string>> CaptureAsync(string paneId, int? start, int? end, bool join, CancellationToken cancellationToken = default)
    {
        var args = new List<string> { "capture-pane", "-p", "-t", paneId };
        if (join)
        {
            args.Add("-J");
        }

        if (start is { } s)
        {
            args.Add("-S");
            args.Add(s.ToString(CultureInfo.InvariantCulture));
        }

        if (end is { } e)
        {
            args.Add("-E");
            args.Add(e.ToString(CultureInfo.InvariantCulture));
        }

        var output = await RunAsync(args, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (output.EndsWith('\n'))
        {
            output = output[..^1];
        }

        return output.Split('\n').Select(line => line.TrimEnd()).ToArray();
    }

    /// <summary>
    /// Pastes <paramref name="text"/> into the pane through a named tmux buffer, as one bracketed paste
    /// when the program asked for bracketed paste mode (Claude Code does), so newlines do not submit.
    /// </summary>
    public async Task PasteAsync(string paneId, string text, CancellationToken cancellationToken = default)
    {
        var buffer = "contextrelay-" + Guid.NewGuid().ToString("N")[..12];
        await RunAsync(["load-buffer", "-b", buffer, "-"], text, cancellationToken).ConfigureAwait(false);
        await RunAsync(["paste-buffer", "-p", "-d", "-b", buffer, "-t", paneId], cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends one named key (<c>Enter</c>, <c>Escape</c>, …) as keystrokes.</summary>
    public Task SendKeyAsync(string paneId, string key, CancellationToken cancellationToken = default)
        => RunAsync(["send-keys", "-t", paneId, key], cancellationToken: cancellationToken);

    private static string DescribeTargetFailure(PaneTarget target, string error)
    {
        if (error.Contains("no server running", StringComparison.OrdinalIgnoreCase)
            || error.Contains("error connecting", StringComparison.OrdinalIgnoreCase))
        {
            return $"No tmux server is running{(target.Socket is null ? string.Empty : $" on socket '{target.Socket}'")}, so there is no session '{target.Session}'; start one with 'tmux new -s {target.Session}'.";
        }

        if (error.Contains("can't find session", StringComparison.OrdinalIgnoreCase))
        {
            return $"The tmux session '{target.Session}' does not exist ('tmux ls' lists the sessions).";
        }

        if (error.Contains("can't find window", StringComparison.OrdinalIgnoreCase))
        {
            return $"The tmux session '{target.Session}' has no window '{target.Window}' ('tmux list-windows -t {target.Session}' lists them).";
        }

        if (error.Contains("can't find pane", StringComparison.OrdinalIgnoreCase))
        {
            return $"The tmux window has no pane '{target.Pane}' ('tmux list-panes -t {target.Session}' lists them).";
        }

        return $"tmux cannot find {target}: {error}";
    }

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }
}

/// <summary>A tmux command that exited non-zero.</summary>
internal sealed class TmuxCommandException(string command, string error)
    : Exception($"tmux {command} failed: {error}")
{
    public string Error { get; } = error;
}

/// <summary>Which pane the user named: <c>--tmux SESSION [--window W] [--pane P]</c>, on an optional socket.</summary>
internal sealed record PaneTarget(string Session, string? Window = null, string? Pane = null, string? Socket = null)
{
    /// <summary>The window to list the panes of: <c>=session:window</c> (exact session name), or the pane id's window.</summary>
    public string ToTmuxWindowTarget()
    {
        if (Session.StartsWith('%'))
        {
            return Session; // a pane id: list-panes lists its window
        }

        // '=' asks for an exact session name (tmux otherwise accepts a prefix).
        var session = Session.StartsWith('$') ? Session : "=" + Session;
        return $"{session}:{Window}";
    }

    public override string ToString()
        => Session.StartsWith('%') ? $"pane {Session}" : $"'{Session}{(Window is null ? string.Empty : ":" + Window)}{(Pane is null ? string.Empty : "." + Pane)}'";
}

/// <summary>A resolved pane: its stable id (<c>%N</c>) and the server socket it lives on.</summary>
internal sealed record PaneInfo(string PaneId, string Session, string Window, string Pane, string SocketPath, int Pid)
{
    public string Display => $"{Session}:{Window}.{Pane} ({PaneId})";
}

/// <summary>Where a pane's screen sits in its history: absolute row = <see cref="HistorySize"/> + visible row.</summary>
/// <param name="AlternateScreen">A full-screen program is on the alternate screen, which has no scrollback.</param>
internal readonly record struct PanePosition(int HistorySize, int CursorY, int Height, int HistoryLimit, bool AlternateScreen = false);
