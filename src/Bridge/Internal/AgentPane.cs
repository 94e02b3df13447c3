using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace CtxRelay.Bridge.Internal;

internal enum TurnStatus
{
    Done,
    Timeout,
    Error,
}

/// <summary>How one task went: the agent's answer (cleaned), how long it took, and why it ended.</summary>
internal sealed record TurnResult(TurnStatus Status, string Output, TimeSpan Duration, string Reason);

/// <summary>
/// Drives one agent in one tmux pane, one task at a time: wait for its prompt, paste the task
/// (bracketed), press Enter once, watch for the end of the turn, and read back what it wrote.
/// </summary>
internal sealed class AgentPane : IAgent
{
    /// <summary>Lines above the task's start remembered to find the start again if the history shifts.</summary>
    private const int AnchorLines = 3;

    private readonly Tmux _tmux;
    private readonly PaneFiles _files;
    private readonly BridgeOptions _options;
    private readonly Regex? _prompt;
    private readonly ILogger _logger;

    public AgentPane(Tmux tmux, PaneInfo pane, PaneFiles files, BridgeOptions options, ILogger logger)
    {
        _tmux = tmux;
        Pane = pane;
        _files = files;
        _options = options;
        _logger = logger;
        _prompt = options.PromptPattern is { Length: > 0 } pattern ? new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1)) : null;
    }

    public PaneInfo Pane { get; }

    public string Display => Pane.Display;

    /// <summary>Hands <paramref name="task"/> to the agent and returns its answer, or a timeout after <paramref name="timeout"/>.</summary>
    /// <param name="activity">Told what the turn is doing (for <c>status</c>).</param>
    public async Task<TurnResult> RunTurnAsync(string task, TimeSpan timeout, Action<string> activity, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();

        activity("waiting-for-prompt");
        var ready = await WaitForPromptAsync(clock, timeout, cancellationToken).ConfigureAwait(false);
        if (ready is null)
        {
            return new TurnResult(TurnStatus.Timeout, string.Empty, clock.Elapsed, "the agent's prompt did not become ready; the task was not typed");
        }

        // Where this task's output will start: the top of the input area, as an absolute history row,
        // plus the lines just above it to find it again should the history limit shift the rows.
        var position = await _tmux.GetPositionAsync(Pane.PaneId, cancellationToken).ConfigureAwait(false);
        var top = ready.Value.Reading.InputAreaTop;
        var anchorStart = Math.Max(top - AnchorLines, -position.HistorySize);
        IReadOnlyList<string> anchor = anchorStart < top
            ? await _tmux.CaptureAsync(Pane.PaneId, anchorStart, top - 1, join: false, cancellationToken).ConfigureAwait(false)
            : [];
        var absoluteStart = position.HistorySize + top;

        activity("typing");
        _files.ClearSignal();
        await _tmux.PasteAsync(Pane.PaneId, task, cancellationToken).ConfigureAwait(false);
        var baseline = await SettleAfterPasteAsync(ready.Value.Screen, cancellationToken).ConfigureAwait(false);
        var submittedAt = DateTimeOffset.UtcNow;
        await _tmux.SendKeyAsync(Pane.PaneId, "Enter", cancellationToken).ConfigureAwait(false);
        Log.Submitted(_logger, Pane.PaneId, task.Length);

        activity("working");
        var (status, signal, reason) = await WaitForFinishAsync(baseline, submittedAt, clock, timeout, cancellationToken).ConfigureAwait(false);

        activity("capturing");
        string output;
        if (signal?.Message is { Length: > 0 } message)
        {
            output = message;
        }
        else
        {
            if (signal is not null)
            {
                await WaitForQuietAsync(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
            }

            var region = await CaptureTaskRegionAsync(absoluteStart, anchor, cancellationToken).ConfigureAwait(false);
            output = ScreenCleaner.Clean(region, task);
        }

        if (status == TurnStatus.Timeout && _options.InterruptOnTimeout)
        {
            await _tmux.SendKeyAsync(Pane.PaneId, "Escape", cancellationToken).ConfigureAwait(false);
        }

        return new TurnResult(status, output, clock.Elapsed, reason);
    }

    private async Task<(IReadOnlyList<string> Screen, ScreenReading Reading)?> WaitForPromptAsync(Stopwatch clock, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var settle = TimeSpan.FromTicks(Math.Min(_options.QuietPeriod.Ticks, TimeSpan.FromMilliseconds(500).Ticks));
        IReadOnlyList<string>? last = null;
        var since = clock.Elapsed;
        while (clock.Elapsed < timeout)
        {
            var screen = await CaptureScreenAsync(cancellationToken).ConfigureAwait(false);
            if (last is null || !screen.SequenceEqual(last))
            {
                last = screen;
                since = clock.Elapsed;
            }

            var reading = ScreenReader.Read(screen, _prompt);
            if (reading.PromptVisible && !reading.Busy && clock.Elapsed - since >= settle)
            {
                return (screen, reading);
            }

            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>
    /// The short pause before Enter: at least <see cref="BridgeOptions.SubmitDelay"/>, and for a big
    /// paste until the agent has drawn it (the screen changed, then held still for a poll).
    /// </summary>
    private async Task<IReadOnlyList<string>> SettleAfterPasteAsync(IReadOnlyList<string> before, CancellationToken cancellationToken)
    {
        await Task.Delay(_options.SubmitDelay, cancellationToken).ConfigureAwait(false);
        var limit = Stopwatch.StartNew();
        var previous = await CaptureScreenAsync(cancellationToken).ConfigureAwait(false);
        var changed = !previous.SequenceEqual(before);
        while (limit.Elapsed < _options.SubmitDelay * 10)
        {
            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
            var screen = await CaptureScreenAsync(cancellationToken).ConfigureAwait(false);
            var same = screen.SequenceEqual(previous);
            if (same && changed)
            {
                return screen;
            }

            changed |= !screen.SequenceEqual(before);
            previous = screen;
        }

        return previous;
    }

    private async Task<(TurnStatus Status, DoneSignal? Signal, string Reason)> WaitForFinishAsync(
        IReadOnlyList<string> baseline, DateTimeOffset submittedAt, Stopwatch clock, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var last = baseline;
        var lastChange = clock.Elapsed;
        var active = false;
        while (true)
        {
            if (_files.TakeSignal() is { } signal)
            {
                if (signal.At >= submittedAt)
                {
                    return (TurnStatus.Done, signal, "the Stop hook signalled the end of the turn");
                }

                Log.StaleSignal(_logger, Pane.PaneId);
            }

            if (clock.Elapsed >= timeout)
            {
                return (TurnStatus.Timeout, null, $"the agent did not finish within {timeout}");
            }

            var screen = await CaptureScreenAsync(cancellationToken).ConfigureAwait(false);
            if (!screen.SequenceEqual(last))
            {
                last = screen;
                lastChange = clock.Elapsed;
            }

            var reading = ScreenReader.Read(screen, _prompt);
            active |= reading.Busy || !screen.SequenceEqual(baseline);
            if (active && !reading.Busy && reading.PromptVisible && clock.Elapsed - lastChange >= _options.QuietPeriod)
            {
                return (TurnStatus.Done, null, "the prompt came back and the screen went quiet");
            }

            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitForQuietAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        var quiet = TimeSpan.FromTicks(Math.Min(_options.QuietPeriod.Ticks, TimeSpan.FromSeconds(1).Ticks));
        var clock = Stopwatch.StartNew();
        var last = await CaptureScreenAsync(cancellationToken).ConfigureAwait(false);
        var since = clock.Elapsed;
        while (clock.Elapsed < limit && clock.Elapsed - since < quiet)
        {
            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
            var screen = await CaptureScreenAsync(cancellationToken).ConfigureAwait(false);
            if (!screen.SequenceEqual(last))
            {
                last = screen;
                since = clock.Elapsed;
            }
        }
    }

    /// <summary>
    /// Everything from the task's start row to the bottom of the screen, scrollback included, wrapped
    /// lines joined. The start row is checked against the remembered lines above it; when the history
    /// limit has dropped rows, the start is found again by those lines.
    /// </summary>
    private async Task<IReadOnlyList<string>> CaptureTaskRegionAsync(int absoluteStart, IReadOnlyList<string> anchor, CancellationToken cancellationToken)
    {
        var position = await _tmux.GetPositionAsync(Pane.PaneId, cancellationToken).ConfigureAwait(false);
        if (position.AlternateScreen)
        {
            // A full-screen TUI (e.g. Claude Code's fullscreen renderer) redraws in place and keeps no
            // scrollback: rows do not move with the output. Read the whole screen; the cleaner drops
            // everything up to the echoed task. What scrolled off the screen is lost.
            return await _tmux.CaptureAsync(Pane.PaneId, null, null, join: true, cancellationToken).ConfigureAwait(false);
        }

        var start = absoluteStart - position.HistorySize;
        if (anchor.Count > 0)
        {
            var check = start - anchor.Count >= -position.HistorySize
                ? await _tmux.CaptureAsync(Pane.PaneId, start - anchor.Count, start - 1, join: false, cancellationToken).ConfigureAwait(false)
                : [];
            if (!check.SequenceEqual(anchor))
            {
                var all = await _tmux.CaptureAsync(Pane.PaneId, -position.HistorySize, null, join: false, cancellationToken).ConfigureAwait(false);
                var expected = Math.Min(start + position.HistorySize, all.Count);
                var found = -1;
                for (var k = expected; k >= anchor.Count && found < 0; k--)
                {
                    if (all.Skip(k - anchor.Count).Take(anchor.Count).SequenceEqual(anchor))
                    {
                        found = k;
                    }
                }

                start = found >= 0 ? found - position.HistorySize : -position.HistorySize;
                Log.StartMoved(_logger, Pane.PaneId, found >= 0);
            }
        }

        start = Math.Max(start, -position.HistorySize);
        return await _tmux.CaptureAsync(Pane.PaneId, start, null, join: true, cancellationToken).ConfigureAwait(false);
    }

    private Task<IReadOnlyList<string>> CaptureScreenAsync(CancellationToken cancellationToken)
        => _tmux.CaptureAsync(Pane.PaneId, null, null, join: false, cancellationToken);
}
