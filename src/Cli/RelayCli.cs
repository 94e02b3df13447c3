using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Text.Json.Nodes;
using CtxRelay.Cli.Internal;
using CtxRelay.Shared;

namespace CtxRelay.Cli;

/// <summary>
/// The <c>contextrelay</c> command line: push, pull, peek, delete, publish, subscribe, history and completion.
/// It reaches the relay only through the SDK. Errors are one line on stderr naming the fix, with the exit
/// codes of <see cref="ExitCodes"/>; usage mistakes exit 2 with the nearest valid command or option.
/// </summary>
public static partial class RelayCli
{
    /// <summary>Parses and runs a command line; returns the process exit code.</summary>
    public static async Task<int> InvokeAsync(string[] args, InvocationConfiguration? configuration = null, CancellationToken cancellationToken = default)
    {
        // Ctrl+C and SIGTERM cancel the action's token (subscribe then ends with 0) rather than killing the process.
        configuration ??= new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(2) };
        var parseResult = CreateRootCommand().Parse(args);
        if (UsageErrors.Report(parseResult, "contextrelay", configuration.Error) is { } usage)
        {
            return usage;
        }

        return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    public static RootCommand CreateRootCommand()
    {
        var shared = new SharedOptions();
        var root = new RootCommand(
            "Hand large payloads between agents by URL on a ContextRelay relay: push a file, pass on the URL, pull it elsewhere; publish and subscribe on channels. "
            + "Configured by CONTEXTRELAY_URL (default http://127.0.0.1:8787) and CONTEXTRELAY_API_KEY.");
        root.Options.Add(shared.Url);
        root.Options.Add(shared.ApiKey);
        root.Subcommands.Add(PushCommand(shared));
        root.Subcommands.Add(PullCommand(shared));
        root.Subcommands.Add(PeekCommand(shared));
        root.Subcommands.Add(DeleteCommand(shared));
        root.Subcommands.Add(PublishCommand(shared));
        root.Subcommands.Add(SubscribeCommand(shared));
        root.Subcommands.Add(HistoryCommand(shared));
        root.Subcommands.Add(CompletionCommand());
        return root;
    }

    /// <summary>The options every relay command takes (declared once on the root, recursive).</summary>
    private sealed class SharedOptions
    {
        public Option<string> Url { get; } = new("--url")
        {
            Description = "The relay's base URL (default: $CONTEXTRELAY_URL, else http://127.0.0.1:8787).",
            Recursive = true,
        };

        public Option<string> ApiKey { get; } = new("--api-key")
        {
            Description = "The workspace's API key (default: $CONTEXTRELAY_API_KEY).",
            Recursive = true,
        };

        public RelaySettings Settings(ParseResult parseResult) => RelaySettings.Resolve(parseResult.GetValue(Url), parseResult.GetValue(ApiKey));
    }

    /// <summary>What an action gets: the relay client and the writers of this invocation.</summary>
    private sealed record Context(ContextRelay Relay, TextWriter Output, TextWriter Error);

    /// <summary>
    /// Runs a relay action: resolves the settings, creates the client, and turns every failure into one
    /// line on stderr and an exit code. Never a stack trace.
    /// </summary>
    private static async Task<int> RunAsync(ParseResult parseResult, SharedOptions shared, Func<Context, Task<int>> action, CancellationToken cancellationToken)
    {
        var error = parseResult.InvocationConfiguration.Error;
        var settings = RelaySettings.Default;
        try
        {
            settings = shared.Settings(parseResult);
            using var relay = settings.CreateClient();
            return await action(new Context(relay, parseResult.InvocationConfiguration.Output, error)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (Exception ex)
        {
            var payloadAddress = parseResult.CommandResult.Children.OfType<ArgumentResult>().FirstOrDefault(a => a.Argument.Name == "url") is { Tokens: [var token, ..] }
                ? token.Value
                : null;
            var (exitCode, message) = Errors.Describe(ex, settings, payloadAddress);
            await error.WriteLineAsync("contextrelay: " + message).ConfigureAwait(false);
            return exitCode;
        }
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON object (a stable shape for scripts and jq) instead of text." };

    /// <summary><c>--meta k=v</c> (repeatable) and <c>--summary</c> as one metadata object, or null when neither is given.</summary>
    private static JsonObject? Metadata(string[]? pairs, string? summary)
    {
        if ((pairs is null || pairs.Length == 0) && summary is null)
        {
            return null;
        }

        var metadata = new JsonObject();
        foreach (var pair in pairs ?? [])
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new UsageException($"--meta '{pair}' is not KEY=VALUE: write it as --meta task_id=42 (repeat --meta for more keys).");
            }

            metadata[pair[..equals]] = pair[(equals + 1)..];
        }

        if (summary is not null)
        {
            metadata["summary"] = summary;
        }

        return metadata;
    }

    private static Command CompletionCommand()
    {
        var shell = new Argument<string>("shell") { Description = "The shell: bash, zsh or pwsh." };
        shell.AcceptOnlyFromAmong(Completion.Shells);
        var command = new Command("completion", "Print a shell completion script: eval \"$(contextrelay completion bash)\" in ~/.bashrc (zsh: ~/.zshrc; pwsh: | Out-String | Invoke-Expression in $PROFILE).")
        {
            shell,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await parseResult.InvocationConfiguration.Output.WriteAsync(Completion.Script(parseResult.GetValue(shell)!)).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }
}
