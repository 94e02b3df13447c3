using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using CtxRelay.Cli.Internal;

namespace CtxRelay.Cli;

public static partial class RelayCli
{
    private static Command PushCommand(SharedOptions shared)
    {
        var file = new Argument<string?>("file")
        {
            Description = "The file to push, or - for standard input (also the default when input is piped).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var channel = new Option<string>("--channel", "-c") { Description = "Announce the push on this channel (subscribers get its URL)." };
        channel.Validators.Add(ChannelNames.Validator("channel"));
        var meta = new Option<string[]>("--meta", "-m") { Description = "Metadata KEY=VALUE, stored in plain text beside the payload (repeat for more keys)." };
        var summary = new Option<string>("--summary", "-s") { Description = "A line a receiver reads with peek before pulling (metadata 'summary')." };
        var encrypt = new Option<bool>("--encrypt", "-e") { Description = "Encrypt here (Fernet) before pushing; the key is only in the printed URL's #key=… fragment, never sent to the relay." };
        var ttl = DurationOption("--ttl", "How long the relay keeps it: seconds (3600) or 90s, 30m, 1h, 7d (default: the relay's, 24 h).");
        var contentType = new Option<string>("--content-type")
        {
            Description = "The content type stored with the payload; the bytes are sent as they are either way (an encrypted push stores its token as text/plain).",
            DefaultValueFactory = _ => "text/plain; charset=utf-8",
        };
        var json = JsonOption();
        var command = new Command("push", "Store a file or standard input on the relay and print its URL (with #key=… when encrypted). Pass the URL on; pull it elsewhere.")
        {
            file, channel, meta, summary, encrypt, ttl, contentType, json,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, shared, async context =>
        {
            var metadata = Metadata(parseResult.GetValue(meta), parseResult.GetValue(summary));
            var encrypted = parseResult.GetValue(encrypt);
            await using var input = await OpenInputAsync(parseResult.GetValue(file), cancellationToken).ConfigureAwait(false);
            var size = StandardInput.LengthOf(input);
            using var bar = ProgressBar.For("push", encrypted && size is { } plain ? ProgressBar.FernetTokenLength(plain) : size, context.Error);
            var result = await context.Relay.PushStreamAsync(
                input,
                parseResult.GetValue(contentType)!,
                parseResult.GetValue(channel),
                metadata,
                encrypted,
                parseResult.GetValue(ttl),
                bar,
                cancellationToken).ConfigureAwait(false);
            bar?.Dispose();
            await context.Output.WriteLineAsync(parseResult.GetValue(json) ? JsonShapes.Line(JsonShapes.Push(result, encrypted)) : result.Url).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    /// <summary>The payload source of <c>push</c>: a file, or standard input for <c>-</c> or when input is piped.</summary>
    private static async Task<Stream> OpenInputAsync(string? file, CancellationToken cancellationToken)
    {
        const string Hint = "give a FILE, or pipe the payload in (… | contextrelay push, or contextrelay push - < FILE).";
        if (file is null or "-")
        {
            if (file is null && !Console.IsInputRedirected)
            {
                throw new UsageException("Nothing to push: " + Hint);
            }

            var stdin = StandardInput.Open();
            if (StandardInput.LengthOf(stdin) is { } length)
            {
                return length > 0 ? stdin : throw new UsageException("Nothing to push: standard input is empty; " + Hint);
            }

            // A pipe has no length: look at its first bytes, so an empty one is a clear error, not the relay's 400.
            return await PrefixedStream.OpenNonEmptyAsync(stdin, cancellationToken).ConfigureAwait(false)
                ?? throw new UsageException("Nothing to push: standard input is empty; " + Hint);
        }

        var info = new FileInfo(file);
        if (!info.Exists)
        {
            throw new CliException($"{info.FullName} does not exist: give the path of the file to push, or - to read standard input.");
        }

        if (info.Length == 0)
        {
            throw new CliException($"{info.FullName} is empty: the relay stores non-empty payloads only.");
        }

        return info.OpenRead();
    }

    private static Command PullCommand(SharedOptions shared)
    {
        var url = UrlArgument();
        var output = new Option<string>("--output", "-o") { Description = "Write the payload to this file (replaced if it exists) instead of standard output." };
        var command = new Command("pull", "Download a payload, exactly as pushed, to standard output or a file (-o). A URL with #key=… is decrypted here.")
        {
            url, output,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, shared, async context =>
        {
            var address = parseResult.GetValue(url)!;

            // The size is asked for only when a bar could be drawn (stderr is a terminal).
            var size = Console.IsErrorRedirected ? null : (long?)(await context.Relay.PeekAsync(address, cancellationToken).ConfigureAwait(false)).Size;
            using var bar = ProgressBar.For("pull", size, context.Error);
            var path = parseResult.GetValue(output);
            if (path is null or "-")
            {
                await using var stdout = Console.OpenStandardOutput();
                await context.Relay.PullToStreamAsync(address, stdout, bar, cancellationToken).ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            await PullToFileAsync(context.Relay, address, Path.GetFullPath(path), bar, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    /// <summary>Pulls into a temporary file beside the target and renames it into place: never a half-written file.</summary>
    private static async Task PullToFileAsync(ContextRelay relay, string address, string path, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        if (Directory.Exists(path))
        {
            throw new CliException($"{path} is a folder: give -o the file to write, e.g. {Path.Combine(path, "payload")}.");
        }

        var directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            throw new CliException($"The folder {directory} does not exist: create it or choose another -o path.");
        }

        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await relay.PullToStreamAsync(address, file, progress, cancellationToken).ConfigureAwait(false);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static Command PeekCommand(SharedOptions shared)
    {
        var url = UrlArgument();
        var json = JsonOption();
        var command = new Command("peek", "Show a payload's metadata, size, channel, encryption and expiry without downloading it.")
        {
            url, json,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, shared, async context =>
        {
            var info = await context.Relay.PeekAsync(parseResult.GetValue(url)!, cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonShapes.Line(JsonShapes.Peek(info))).ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            var left = info.ExpiresAt - DateTimeOffset.UtcNow;
            await context.Output.WriteLineAsync(string.Join(Environment.NewLine,
                $"id         {info.Id}",
                $"size       {info.Size.ToString("N0", CultureInfo.InvariantCulture)} bytes{Readable(info.Size)}",
                $"channel    {info.Channel ?? "-"}",
                $"encrypted  {(info.Encrypted ? "yes (pull needs the URL with #key=…)" : "no")}",
                $"created    {info.CreatedAt.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z",
                $"expires    {info.ExpiresAt.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z (in {Durations.Format(left)})",
                $"metadata   {JsonShapes.Line(info.Metadata)}")).ConfigureAwait(false);
            if (info.Metadata["summary"] is JsonValue summary && summary.TryGetValue<string>(out var text))
            {
                await context.Output.WriteLineAsync($"summary    {text.ReplaceLineEndings(" ")}").ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command DeleteCommand(SharedOptions shared)
    {
        var url = UrlArgument();
        var command = new Command("delete", "Delete a payload before it expires (only a read-write key of its workspace can).")
        {
            url,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, shared, async context =>
        {
            await context.Relay.DeleteAsync(parseResult.GetValue(url)!, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    /// <summary>" (12.3 KB)", " (25.0 MB)"; nothing under a kilobyte.</summary>
    private static string Readable(long bytes) => bytes switch
    {
        < 1024 => string.Empty,
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $" ({bytes / 1024.0:0.0} KB)"),
        _ => string.Create(CultureInfo.InvariantCulture, $" ({bytes / 1048576.0:0.0} MB)"),
    };

    private static Argument<string> UrlArgument() => new("url")
    {
        Description = "The payload's URL as handed on (keep #key=… for encrypted payloads), or its bare id.",
    };

    /// <summary>An option taking a duration: seconds (<c>3600</c>) or units (<c>90s</c>, <c>30m</c>, <c>1h</c>, <c>7d</c>).</summary>
    private static Option<TimeSpan?> DurationOption(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            if (Durations.TryParse(result.Tokens[0].Value, out var duration))
            {
                return duration;
            }

            result.AddError($"{name} '{result.Tokens[0].Value}' is not a duration: use seconds (3600) or 90s, 30m, 1h, 7d.");
            return null;
        },
    };
}
