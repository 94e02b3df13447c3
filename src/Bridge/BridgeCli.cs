using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using CtxRelay.Bridge.Internal;
using Microsoft.Extensions.Logging;

namespace CtxRelay.Bridge;

/// <summary>
/// The <c>contextrelay-bridge</c> command line: <c>start</c>, <c>send</c>, <c>status</c>, <c>stop</c>,
/// <c>signal-done</c> and <c>install-hook</c>. Errors are one line on standard error naming the fix,
/// with exit code 1; <c>status</c> exits 3 when no bridge runs; <c>send --wait</c> exits 4 when the
/// bridge reports an error and 5 on a timeout.
/// </summary>
public static class BridgeCli
{
    public const int ExitError = 1;
    public const int ExitNotRunning = 3;
    public const int ExitTaskError = 4;
    public const int ExitTaskTimeout = 5;

    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand(
            "Hands ContextRelay tasks to a coding agent (Claude Code) running in a tmux pane and pushes back its answers.");
        root.Subcommands.Add(StartCommand());
        root.Subcommands.Add(SendCommand());
        root.Subcommands.Add(StatusCommand());
        root.Subcommands.Add(StopCommand());
        root.Subcommands.Add(SignalDoneCommand());
        root.Subcommands.Add(InstallHookCommand());
        return root;
    }

    private sealed class PaneOptions
    {
        public Option<string> Session { get; } = new("--tmux") { Description = "The tmux session of the agent (or a pane id such as %3)." };

        public Option<string> Window { get; } = new("--window") { Description = "The window in the session (default: its current window)." };

        public Option<string> Pane { get; } = new("--pane") { Description = "The pane in the window (default: its active pane)." };

        public Option<string> Socket { get; } = new("--tmux-socket", "-L") { Description = "The tmux server: a socket name (as tmux -L) or path (as tmux -S). Default: tmux's default server." };

        public Option<string> StateDirectory { get; } = new("--state-dir")
        {
            Description = "Where bridges keep their per-pane state (default: $CONTEXTRELAY_BRIDGE_STATE_DIR or ~/.contextrelay/bridge).",
        };

        public void AddTo(Command command)
        {
            command.Options.Add(Session);
            command.Options.Add(Window);
            command.Options.Add(Pane);
            command.Options.Add(Socket);
            command.Options.Add(StateDirectory);
        }

        public PaneTarget? Target(ParseResult parseResult)
            => parseResult.GetValue(Session) is { Length: > 0 } session
                ? new PaneTarget(session, parseResult.GetValue(Window), parseResult.GetValue(Pane), parseResult.GetValue(Socket))
                : null;

        public string Directory(ParseResult parseResult)
            => parseResult.GetValue(StateDirectory) is { Length: > 0 } directory ? directory : PaneFiles.DefaultDirectory();
    }

    /// <summary>The relay and the two channels: the options every command that talks to the relay shares.</summary>
    private sealed class RelayArguments
    {
        public Option<string> TaskChannel { get; } = new("--task-channel")
        {
            Description = $"The channel tasks go to (default: {BridgeOptions.DefaultTaskChannel}, as the Python bridge).",
            DefaultValueFactory = _ => BridgeOptions.DefaultTaskChannel,
        };

        public Option<string> DoneChannel { get; } = new("--done-channel")
        {
            Description = $"The channel results go to (default: {BridgeOptions.DefaultDoneChannel}, as the Python bridge).",
            DefaultValueFactory = _ => BridgeOptions.DefaultDoneChannel,
        };

        public Option<string> RelayUrl { get; } = new("--relay-url") { Description = "The relay (default: $CONTEXTRELAY_URL or http://127.0.0.1:8787)." };

        public Option<string> ApiKey { get; } = new("--api-key") { Description = "The API key (default: $CONTEXTRELAY_API_KEY)." };

        public void AddTo(Command command)
        {
            command.Options.Add(TaskChannel);
            command.Options.Add(DoneChannel);
            command.Options.Add(RelayUrl);
            command.Options.Add(ApiKey);
        }

        public ContextRelay CreateRelay(ParseResult parseResult) => new(RelayOptions(parseResult.GetValue(RelayUrl), parseResult.GetValue(ApiKey)));
    }

    private static Command StartCommand()
    {
        var pane = new PaneOptions();
        var exec = new Option<string>("--exec")
        {
            Description = "Instead of a tmux pane: run this command per task (through /bin/sh -c) with the task on standard input; its output is the answer, its exit code the status (0 done, else error).",
        };
        var relayArguments = new RelayArguments();
        var taskTimeout = DurationOption("--task-timeout", "How long one task may take before it ends with status timeout (e.g. 30m, 90s; a bare number is seconds). --exec commands are then killed with their child processes.", TimeSpan.FromMinutes(30), "--timeout");
        var maxTaskAge = DurationOption("--max-task-age", "Tasks older than this (by the relay's clock) are answered with status error instead of run — so a bridge starting on an old channel does not replay its backlog blindly. Tasks with an orchestrator deadline follow the deadline instead.", TimeSpan.FromHours(1));
        var outcome = new Option<bool>("--outcome")
        {
            Description = "Ask the agent for a structured outcome on every task (the Python bridge's COMPLETED/NOT_DONE/NOTES block): the result is the block, its fields go into the metadata, the full answer is pushed separately (transcript_url).",
        };
        var quiet = DurationOption("--quiet", "Without a Stop-hook signal: how long the screen must stay still, with the prompt back and no spinner, for the turn to count as finished.", TimeSpan.FromSeconds(2));
        var submitDelay = DurationOption("--submit-delay", "The pause between pasting a task and pressing Enter.", TimeSpan.FromMilliseconds(500));
        var noInterrupt = new Option<bool>("--no-interrupt") { Description = "Do not press Esc in the pane when a task times out." };
        var promptPattern = new Option<string>("--prompt-pattern") { Description = "A regular expression for the agent's prompt line (default: Claude Code's '>' prompt, boxed or not)." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log each step." };
        var taskGroup = new Option<string>("--task-group")
        {
            Description = "The queue group bridges join on the task channel: each task goes to one bridge, and tasks pushed while none runs wait (default: contextrelay-bridge).",
            DefaultValueFactory = _ => "contextrelay-bridge",
        };

        var announce = new Option<string>("--announce")
        {
            Description = $"The channel the bridge announces its status and a heartbeat on, for the relay's console; '' turns announcing off (default: {BridgeOptions.DefaultAnnounceChannel}).",
            DefaultValueFactory = _ => BridgeOptions.DefaultAnnounceChannel,
        };

        var command = new Command("start", "Serve an agent: type each task from the task channel into the agent in a tmux pane (--tmux), or run a command per task (--exec), and push its answer to the done channel. Runs until stopped (Ctrl+C, SIGTERM or 'contextrelay-bridge stop').");
        pane.AddTo(command);
        command.Options.Add(exec);
        relayArguments.AddTo(command);
        command.Options.Add(taskTimeout);
        command.Options.Add(maxTaskAge);
        command.Options.Add(outcome);
        command.Options.Add(quiet);
        command.Options.Add(submitDelay);
        command.Options.Add(noInterrupt);
        command.Options.Add(promptPattern);
        command.Options.Add(verbose);
        command.Options.Add(taskGroup);
        command.Options.Add(announce);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async (output, error) =>
        {
            var target = pane.Target(parseResult);
            var command = parseResult.GetValue(exec);
            if ((target is null) == string.IsNullOrWhiteSpace(command))
            {
                throw new BridgeException(target is null
                    ? "Say what serves the tasks: --tmux SESSION (an agent in a tmux pane) or --exec CMD (a command run per task)."
                    : "Give either --tmux (an agent in a tmux pane) or --exec (a command run per task), not both.");
            }

            var pattern = parseResult.GetValue(promptPattern);
            if (pattern is { Length: > 0 })
            {
                ValidatePattern(pattern);
            }

            var options = new BridgeOptions
            {
                Session = target?.Session,
                Window = target?.Window,
                Pane = target?.Pane,
                TmuxSocket = target?.Socket,
                ExecCommand = string.IsNullOrWhiteSpace(command) ? null : command,
                TaskChannel = parseResult.GetValue(relayArguments.TaskChannel)!,
                DoneChannel = parseResult.GetValue(relayArguments.DoneChannel)!,
                TaskGroup = parseResult.GetValue(taskGroup)!,
                AnnounceChannel = parseResult.GetValue(announce),
                TaskTimeout = parseResult.GetValue(taskTimeout) ?? TimeSpan.FromMinutes(30),
                MaxTaskAge = parseResult.GetValue(maxTaskAge) ?? TimeSpan.FromHours(1),
                Outcome = parseResult.GetValue(outcome),
                QuietPeriod = parseResult.GetValue(quiet) ?? TimeSpan.FromSeconds(2),
                SubmitDelay = parseResult.GetValue(submitDelay) ?? TimeSpan.FromMilliseconds(500),
                InterruptOnTimeout = !parseResult.GetValue(noInterrupt),
                PromptPattern = pattern,
                StateDirectory = pane.Directory(parseResult),
            };
            using var relay = relayArguments.CreateRelay(parseResult);
            var logger = new TextWriterLogger(error, parseResult.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information);
            await new BridgeDaemon(relay, options, logger).RunAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command SendCommand()
    {
        var words = new Argument<string[]>("task")
        {
            Description = "The task, as words (joined with spaces), or - to read it from standard input.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var file = new Option<FileInfo>("--file", "-f") { Description = "Read the task from this file." };
        var wait = new Option<bool>("--wait", "-w") { Description = "Wait for the answer and print it (exit code 0 done, 4 error, 5 timeout)." };
        var timeout = DurationOption("--timeout", "With --wait: how long to wait for the answer (a bare number is seconds); the bridge gives up a little earlier and reports what the agent wrote.", TimeSpan.FromSeconds(600));
        var outcome = new Option<bool>("--outcome") { Description = "Ask the agent for a structured outcome (COMPLETED/NOT_DONE/NOTES); with --wait, the block is printed." };
        var relayArguments = new RelayArguments();
        var command = new Command(
            "send",
            "Hand a task to the agent a bridge serves: push it to the task channel and, with --wait, print the agent's cleaned answer. Without --wait it prints the task's URL; a bridge started later still serves it.");
        command.Arguments.Add(words);
        command.Options.Add(file);
        command.Options.Add(wait);
        command.Options.Add(timeout);
        command.Options.Add(outcome);
        relayArguments.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async (output, error) =>
        {
            var task = await ReadTaskAsync(parseResult.GetValue(words) ?? [], parseResult.GetValue(file), cancellationToken).ConfigureAwait(false);
            using var relay = relayArguments.CreateRelay(parseResult);
            var bridge = new AgentBridge(relay, parseResult.GetValue(relayArguments.TaskChannel)!, parseResult.GetValue(relayArguments.DoneChannel)!);
            if (!parseResult.GetValue(wait))
            {
                var sent = await bridge.SendAsync(task, new AgentTaskOptions { Outcome = parseResult.GetValue(outcome) }, cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync(sent.Url).ConfigureAwait(false);
                await error.WriteLineAsync($"Task {sent.TaskId} pushed to '{bridge.TaskChannel}'; its answer will come on '{bridge.DoneChannel}'.").ConfigureAwait(false);
                return 0;
            }

            var limit = parseResult.GetValue(timeout) ?? TimeSpan.FromSeconds(600);
            AgentResult result;
            try
            {
                result = await bridge.PushAndWaitForResultAsync(task, new AgentTaskOptions { Timeout = limit, Outcome = parseResult.GetValue(outcome) }, cancellationToken).ConfigureAwait(false);
            }
            catch (AgentBridgeTimeoutException)
            {
                await error.WriteLineAsync($"error: no answer within {Format(limit)}. Is a bridge serving '{bridge.TaskChannel}'? ('contextrelay-bridge status' tells; a longer --timeout waits longer.)").ConfigureAwait(false);
                return ExitTaskTimeout;
            }

            if (result.Output.Length > 0)
            {
                await output.WriteLineAsync(result.Output).ConfigureAwait(false);
            }

            switch (result.Status)
            {
                case AgentTaskStatus.Done:
                    return 0;
                case AgentTaskStatus.Timeout:
                    await error.WriteLineAsync($"error: the agent did not finish task {result.TaskId} within the bridge's limit; above is what it had written. A longer --timeout gives it more time.").ConfigureAwait(false);
                    return ExitTaskTimeout;
                default:
                    await error.WriteLineAsync($"error: the bridge could not complete task {result.TaskId}: {result.Reason ?? result.Summary}.").ConfigureAwait(false);
                    return ExitTaskError;
            }
        }));
        return command;
    }

    /// <summary>The task of <c>send</c>: from --file, from standard input (<c>-</c>), or the words joined.</summary>
    private static async Task<string> ReadTaskAsync(string[] words, FileInfo? file, CancellationToken cancellationToken)
    {
        if (file is not null && words.Length > 0)
        {
            throw new BridgeException("Give the task either as words (or - for standard input) or with --file, not both.");
        }

        string task;
        if (file is not null)
        {
            if (!file.Exists)
            {
                throw new BridgeException($"The task file {file.FullName} does not exist.");
            }

            task = await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false);
        }
        else if (words is ["-"])
        {
            task = await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            task = string.Join(' ', words);
        }

        return string.IsNullOrWhiteSpace(task)
            ? throw new BridgeException("The task is empty: give it as words, as - with the text on standard input, or with --file FILE.")
            : task;
    }

    private static Command StatusCommand()
    {
        var pane = new PaneOptions();
        var json = new Option<bool>("--json") { Description = "Print the bridge's state as JSON." };
        var command = new Command("status", "Is a bridge running on this pane, and what is it doing? Without --tmux, lists every running bridge. Exits 3 when none runs.");
        pane.AddTo(command);
        command.Options.Add(json);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async (output, error) =>
        {
            var directory = pane.Directory(parseResult);
            List<BridgeStatus> running;
            string where;
            if (pane.Target(parseResult) is { } target)
            {
                var files = await FilesForAsync(target, directory, cancellationToken).ConfigureAwait(false);
                running = files.ReadLiveState() is { } state ? [state] : [];
                where = "on " + target;
            }
            else
            {
                running = [.. PaneFiles.All(directory).Select(f => f.State).Where(PaneFiles.IsAlive)];
                where = "in " + directory;
            }

            if (parseResult.GetValue(json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(running, PaneFiles.Json)).ConfigureAwait(false);
            }
            else if (running.Count == 0)
            {
                await output.WriteLineAsync($"No bridge is running {where}.").ConfigureAwait(false);
            }

            foreach (var state in parseResult.GetValue(json) ? [] : running)
            {
                await output.WriteLineAsync(Describe(state)).ConfigureAwait(false);
            }

            return running.Count > 0 ? 0 : ExitNotRunning;
        }));
        return command;
    }

    private static Command StopCommand()
    {
        var pane = new PaneOptions();
        pane.Session.Required = true;
        var wait = DurationOption("--wait", "How long to wait for the bridge to exit.", TimeSpan.FromSeconds(15));
        var command = new Command("stop", "Stop the bridge serving a pane (a task in progress ends with status error).");
        pane.AddTo(command);
        command.Options.Add(wait);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async (output, error) =>
        {
            var target = pane.Target(parseResult)!;
            var files = await FilesForAsync(target, pane.Directory(parseResult), cancellationToken).ConfigureAwait(false);
            if (files.ReadLiveState() is not { } state)
            {
                await output.WriteLineAsync($"No bridge is running on {target}; nothing to stop.").ConfigureAwait(false);
                return 0;
            }

            files.RequestStop();
            var limit = parseResult.GetValue(wait) ?? TimeSpan.FromSeconds(15);
            var deadline = DateTime.UtcNow + limit;
            while (files.ReadLiveState() is not null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }

            if (files.ReadLiveState() is not null)
            {
                files.ClearStop();
                throw new BridgeException($"The bridge (pid {state.Pid}) on {target} did not stop within {limit.TotalSeconds:0} s; end it with 'kill {state.Pid}'.");
            }

            await output.WriteLineAsync($"Stopped the bridge on {state.Pane} ({state.PaneId}), pid {state.Pid}.").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command SignalDoneCommand()
    {
        var pane = new PaneOptions();
        var message = new Option<string>("--message") { Description = "The agent's answer to report (instead of reading the hook input or the screen)." };
        var command = new Command(
            "signal-done",
            "Tell the bridge on this pane that the agent finished its turn. Meant as a Claude Code Stop hook (see install-hook): it reads the hook's JSON on standard input and, when that carries the last assistant message, the bridge reports it instead of the scraped screen. Finds the pane from $TMUX and $TMUX_PANE unless --tmux is given. Exits 0 when no bridge runs, so the hook never disturbs the agent.");
        pane.AddTo(command);
        command.Options.Add(message);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async (output, error) =>
        {
            PaneFiles files;
            string where;
            if (pane.Target(parseResult) is { } target)
            {
                files = await FilesForAsync(target, pane.Directory(parseResult), cancellationToken).ConfigureAwait(false);
                where = target.ToString();
            }
            else
            {
                var tmuxEnv = Environment.GetEnvironmentVariable("TMUX");
                var paneId = Environment.GetEnvironmentVariable("TMUX_PANE");
                if (string.IsNullOrEmpty(tmuxEnv) || string.IsNullOrEmpty(paneId))
                {
                    throw new BridgeException("Not inside tmux ($TMUX_PANE is not set): run signal-done in the agent's pane (as its Stop hook), or name the pane with --tmux.");
                }

                files = new PaneFiles(pane.Directory(parseResult), tmuxEnv.Split(',')[0], paneId);
                where = "pane " + paneId;
            }

            var text = parseResult.GetValue(message);
            if (text is null && Console.IsInputRedirected)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    var input = await Console.In.ReadToEndAsync(timeout.Token).ConfigureAwait(false);
                    text = ClaudeHooks.LastAssistantMessage(input);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // no hook input after all
                }
            }

            if (files.ReadLiveState() is null)
            {
                await error.WriteLineAsync($"No bridge is running on {where}; nothing to signal.").ConfigureAwait(false);
                return 0;
            }

            files.WriteSignal(new DoneSignal(DateTimeOffset.UtcNow, string.IsNullOrWhiteSpace(text) ? null : text, "signal-done"));
            return 0;
        }));
        return command;
    }

    private static Command InstallHookCommand()
    {
        var project = new Option<DirectoryInfo>("--project") { Description = "The project whose .claude/settings.json gets the hook (default: the current directory)." };
        var local = new Option<bool>("--local") { Description = "Write .claude/settings.local.json (not committed) instead of settings.json." };
        var bridgeCommand = new Option<string>("--bridge-command")
        {
            Description = "How the hook runs this tool (default: contextrelay-bridge, as installed by 'dotnet tool install -g ContextRelay.Bridge').",
            DefaultValueFactory = _ => "contextrelay-bridge",
        };
        var command = new Command("install-hook", "Add a Claude Code Stop hook that runs 'contextrelay-bridge signal-done', so the bridge knows the moment the agent finishes.");
        command.Options.Add(project);
        command.Options.Add(local);
        command.Options.Add(bridgeCommand);
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, async (output, error) =>
        {
            var directory = parseResult.GetValue(project)?.FullName ?? Environment.CurrentDirectory;
            if (!System.IO.Directory.Exists(directory))
            {
                throw new BridgeException($"The project directory {directory} does not exist.");
            }

            var hook = parseResult.GetValue(bridgeCommand)!.Trim() + " signal-done";
            var (path, changed) = ClaudeHooks.Install(directory, hook, parseResult.GetValue(local));
            await output.WriteLineAsync(changed
                ? $"Added the Stop hook '{hook}' to {path}."
                : $"{path} already has the Stop hook '{hook}'.").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    /// <summary>Runs an action, turning the errors a user can fix into one line and exit code 1.</summary>
    private static async Task<int> RunAsync(ParseResult parseResult, Func<TextWriter, TextWriter, Task<int>> action)
    {
        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        try
        {
            return await action(output, error).ConfigureAwait(false);
        }
        catch (Exception ex) when (Describe(ex) is { } message)
        {
            await error.WriteLineAsync("error: " + message).ConfigureAwait(false);
            return ExitError;
        }
    }

    private static string? Describe(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is RelayAuthException auth)
            {
                return $"{auth.Message.TrimEnd('.')}. Pass a valid key with --api-key or set CONTEXTRELAY_API_KEY.";
            }
        }

        return ex switch
        {
            BridgeException => ex.Message,
            RelayUnavailableException => $"{ex.Message.TrimEnd('.')}. Is the relay running? Check --relay-url or CONTEXTRELAY_URL.",
            RelayException => ex.Message,
            TmuxCommandException => ex.Message,
            OperationCanceledException => null, // Ctrl+C: System.CommandLine's own exit code
            _ => $"{ex.Message} ({ex.GetType().Name})",
        };
    }

    private static ContextRelayOptions RelayOptions(string? url, string? apiKey)
    {
        var options = ContextRelayOptions.FromEnvironment();
        if (url is { Length: > 0 })
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new BridgeException($"--relay-url '{url}' is not an http(s) URL, e.g. http://127.0.0.1:8787.");
            }

            options = options with { BaseUrl = uri };
        }

        return apiKey is { Length: > 0 } ? options with { ApiKey = apiKey } : options;
    }

    /// <summary>
    /// The files of the pane a target names. When only a session is named and no bridge serves its
    /// current pane, the one bridge serving another pane of that session is taken instead.
    /// </summary>
    private static async Task<PaneFiles> FilesForAsync(PaneTarget target, string directory, CancellationToken cancellationToken)
    {
        var tmux = new Tmux(target.Socket);
        var pane = await tmux.ResolvePaneAsync(target, cancellationToken).ConfigureAwait(false);
        var files = new PaneFiles(directory, pane.SocketPath, pane.PaneId);
        if (target.Window is not null || target.Pane is not null || target.Session.StartsWith('%') || files.ReadLiveState() is not null)
        {
            return files;
        }

        var inSession = PaneFiles.All(directory)
            .Select(f => f.State)
            .Where(s => s.Socket == pane.SocketPath && s.Pane.StartsWith(pane.Session + ":", StringComparison.Ordinal) && PaneFiles.IsAlive(s))
            .ToList();
        return inSession.Count == 1 ? new PaneFiles(directory, pane.SocketPath, inSession[0].PaneId) : files;
    }

    private static void ValidatePattern(string pattern)
    {
        try
        {
            _ = new System.Text.RegularExpressions.Regex(pattern);
        }
        catch (ArgumentException ex)
        {
            throw new BridgeException($"--prompt-pattern is not a valid regular expression: {ex.Message}");
        }
    }

    private static string Describe(BridgeStatus state)
    {
        var lines = new List<string>
        {
            $"Bridge running on {state.Pane} ({state.PaneId}), pid {state.Pid}, since {state.StartedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss}.",
            $"  tasks from '{state.TaskChannel}', results to '{state.DoneChannel}' on {state.Relay}",
        };
        lines.Add(state.TaskId is { } task
            ? $"  now: {state.Activity} (task {task}, for {(DateTimeOffset.UtcNow - (state.TaskStartedAt ?? DateTimeOffset.UtcNow)).TotalSeconds:0} s)"
            : "  now: idle, waiting for tasks");
        lines.Add(state.LastTaskId is { } last
            ? $"  finished: {state.TasksDone} task(s); last {last}: {state.LastStatus} in {state.LastDurationS?.ToString("0.0", CultureInfo.InvariantCulture)} s"
            : $"  finished: {state.TasksDone} task(s)");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>A duration: <c>90</c> (seconds), <c>90s</c>, <c>500ms</c>, <c>30m</c>, <c>2h</c> or <c>hh:mm:ss</c>.</summary>
    private static Option<TimeSpan?> DurationOption(string name, string description, TimeSpan fallback, params string[] aliases) => new(name, aliases)
    {
        Description = description + $" Default: {Format(fallback)}.",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (TryParseDuration(text, out var value) && value > TimeSpan.Zero)
            {
                return value;
            }

            result.AddError($"{name} '{text}' is not a positive duration; use e.g. 90s, 500ms, 30m, 2h or 00:30:00.");
            return null;
        },
    };

    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        text = text.Trim();
        var units = new (string Suffix, double Seconds)[] { ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600) };
        foreach (var (suffix, seconds) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                value = TimeSpan.FromSeconds(number * seconds);
                return true;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain))
        {
            value = TimeSpan.FromSeconds(plain);
            return true;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
    }

    private static string Format(TimeSpan value) => value switch
    {
        { TotalHours: >= 1 } when value.TotalHours == Math.Floor(value.TotalHours) => $"{value.TotalHours:0}h",
        { TotalMinutes: >= 1 } when value.TotalMinutes == Math.Floor(value.TotalMinutes) => $"{value.TotalMinutes:0}m",
        { TotalSeconds: >= 1 } when value.TotalSeconds == Math.Floor(value.TotalSeconds) => $"{value.TotalSeconds:0}s",
        _ => $"{value.TotalMilliseconds:0}ms",
    };
}
