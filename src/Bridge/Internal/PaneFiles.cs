using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CtxRelay.Bridge.Internal;

/// <summary>
/// The files that tie the commands of one pane together, in the state directory
/// (<c>$CONTEXTRELAY_BRIDGE_STATE_DIR</c>, else <c>~/.contextrelay/bridge</c>), named after the tmux
/// server socket and the pane id so they are the same whether computed by the daemon (from tmux) or
/// by <c>signal-done</c> inside the pane (from <c>$TMUX</c> and <c>$TMUX_PANE</c>):
/// <list type="bullet">
/// <item><c>KEY.json</c> — the running bridge: pid, channels, what it is doing (read by <c>status</c>).</item>
/// <item><c>KEY.done</c> — a finish signal from the Stop hook, consumed by the daemon.</item>
/// <item><c>KEY.stop</c> — a stop request from <c>stop</c>.</item>
/// </list>
/// Every write goes to a temporary file that is renamed over the target, so readers never see half a file.
/// </summary>
internal sealed class PaneFiles
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    public PaneFiles(string directory, string socketPath, string paneId)
    {
        Directory = directory;
        Key = MakeKey(socketPath, paneId);
        StatePath = Path.Combine(directory, Key + ".json");
        SignalPath = Path.Combine(directory, Key + ".done");
        StopPath = Path.Combine(directory, Key + ".stop");
    }

    public string Directory { get; }

    public string Key { get; }

    public string StatePath { get; }

    public string SignalPath { get; }

    public string StopPath { get; }

    public static string DefaultDirectory()
    {
        var configured = Environment.GetEnvironmentVariable("CONTEXTRELAY_BRIDGE_STATE_DIR");
        return string.IsNullOrWhiteSpace(configured)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".contextrelay", "bridge")
            : configured;
    }

    public static string MakeKey(string socketPath, string paneId)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(socketPath)))[..8];
        var name = new string([.. Path.GetFileName(socketPath).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')]);
        return $"{name}-{hash}-{paneId.TrimStart('%')}";
    }

    public BridgeStatus? ReadState() => Read<BridgeStatus>(StatePath);

    public void WriteState(BridgeStatus state) => Write(StatePath, state);

    /// <summary>The state file of a bridge that is still running, or null (a stale file is removed).</summary>
    public BridgeStatus? ReadLiveState()
    {
        var state = ReadState();
        if (state is null)
        {
            return null;
        }

        if (IsAlive(state))
        {
            return state;
        }

        TryDelete(StatePath);
        return null;
    }

    public void WriteSignal(DoneSignal signal) => Write(SignalPath, signal);

    /// <summary>Takes the pending finish signal, if any (it is consumed).</summary>
    public DoneSignal? TakeSignal()
    {
        var signal = Read<DoneSignal>(SignalPath);
        if (signal is not null)
        {
            TryDelete(SignalPath);
        }

        return signal;
    }

    public void ClearSignal() => TryDelete(SignalPath);

    public void RequestStop() => Write(StopPath, new { requested_at = DateTimeOffset.UtcNow });

    public bool StopRequested => File.Exists(StopPath);

    public void ClearStop() => TryDelete(StopPath);

    public void DeleteAll()
    {
        TryDelete(StatePath);
        TryDelete(SignalPath);
        TryDelete(StopPath);
    }

    /// <summary>All state files in a directory (for <c>status</c> without a pane).</summary>
    public static IEnumerable<(string Path, BridgeStatus State)> All(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            yield break;
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "*.json"))
        {
            if (Read<BridgeStatus>(path) is { } state)
            {
                yield return (path, state);
            }
        }
    }

    public static bool IsAlive(BridgeStatus state)
    {
        try
        {
            using var process = Process.GetProcessById(state.Pid);
            if (process.HasExited)
            {
                return false;
            }

            // A recycled pid belongs to a process started at another time.
            return state.ProcessStartedAt is not { } started
                || Math.Abs((process.StartTime.ToUniversalTime() - started.UtcDateTime).TotalSeconds) < 2;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static T? Read<T>(string path)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json);
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Write<T>(string path, T value)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var temporary = path + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(value, Json));
        File.Move(temporary, path, overwrite: true);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>What a running bridge writes about itself (the <c>status</c> command shows it).</summary>
internal sealed record BridgeStatus
{
    public int Pid { get; init; }

    public DateTimeOffset? ProcessStartedAt { get; init; }

    public required string PaneId { get; init; }

    public required string Pane { get; init; }

    public required string Socket { get; init; }

    public required string TaskChannel { get; init; }

    public required string DoneChannel { get; init; }

    public string? Relay { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    /// <summary><c>idle</c>, <c>waiting-for-prompt</c>, <c>typing</c>, <c>working</c>, <c>capturing</c>, <c>pushing</c>.</summary>
    public string Activity { get; init; } = "idle";

    public string? TaskId { get; init; }

    public DateTimeOffset? TaskStartedAt { get; init; }

    public int TasksDone { get; init; }

    public string? LastTaskId { get; init; }

    public string? LastStatus { get; init; }

    public double? LastDurationS { get; init; }
}

/// <summary>A finish signal from <c>signal-done</c> (a Claude Code Stop hook).</summary>
/// <param name="Message">The last assistant message when the hook input carried it: the result to use.</param>
internal sealed record DoneSignal(DateTimeOffset At, string? Message, string? Source);
