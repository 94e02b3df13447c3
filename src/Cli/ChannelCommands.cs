using System.CommandLine;
using System.Globalization;
using CtxRelay.Cli.Internal;

namespace CtxRelay.Cli;

public static partial class RelayCli
{
    private static Command PublishCommand(SharedOptions shared)
    {
        var channel = ChannelArgument();
        var text = new Argument<string>("text") { Description = "The message, or - to read it from standard input." };
        var meta = new Option<string[]>("--meta", "-m") { Description = "Metadata KEY=VALUE sent with the message (repeat for more keys)." };
        var json = JsonOption();
        var command = new Command("publish", "Send a short message on a channel (no payload stored); prints its sequence number. Push large content and publish its URL.")
        {
            channel, text, meta, json,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, shared, async context =>
        {
            var name = parseResult.GetValue(channel)!;
            var message = parseResult.GetValue(text)!;
            if (message == "-")
            {
                message = await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            }

            if (message.Length == 0)
            {
                throw new UsageException("The message is empty: give the text, or - with the text on standard input.");
            }

            var seq = await context.Relay.PublishAsync(name, message, Metadata(parseResult.GetValue(meta), null), cancellationToken).ConfigureAwait(false);
            await context.Output.WriteLineAsync(parseResult.GetValue(json)
                ? JsonShapes.Line(JsonShapes.Published(name, seq))
                : seq.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Command SubscribeCommand(SharedOptions shared)
    {
        var channel = ChannelArgument();
        var since = SinceOption("Replay the retained events after this sequence number first, then go live (0: everything retained).");
        var group = new Option<string>("--group", "-g")
        {
            Description = "Join a queue group: each event goes to one member of the group; this command acknowledges each event after printing it.",
        };
        group.Validators.Add(ChannelNames.Validator("group"));
        var count = new Option<int?>("--count", "-n") { Description = "Exit after printing this many events." };
        var timeout = DurationOption("--timeout", "Stop after this long (e.g. 60, 90s, 5m); exit code 7 when no event came by then. With --count 1: wait for one event, at most this long.");
        var json = new Option<bool>("--json") { Description = "Accepted for symmetry with the other commands: events are always printed as JSON lines." };
        var command = new Command(
            "subscribe",
            "Print the channel's events as they happen, one JSON object per line (for jq), until Ctrl+C, SIGTERM, --count events, --timeout, or the end of a piped standard input.")
        {
            channel, since, group, count, timeout, json,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, shared, async context =>
        {
            var name = parseResult.GetValue(channel)!;
            var groupName = parseResult.GetValue(group);
            var limit = parseResult.GetValue(count);
            if (limit is <= 0)
            {
                throw new UsageException("--count must be at least 1.");
            }

            // Whether standard input is already closed is told before connecting, so a later close is the parent's signal.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var inputClosed = StandardInput.WhenClosedAsync(stop.Token);
            using var deadline = new CancellationTokenSource();
            var options = SubscriptionOptions.Default with { Since = parseResult.GetValue(since), Group = groupName };
            await using var subscription = await context.Relay.OpenSubscriptionAsync(name, options, cancellationToken).ConfigureAwait(false);
            await context.Error.WriteLineAsync(
                $"contextrelay: subscribed to '{name}'{(groupName is null ? string.Empty : $" in group '{groupName}'")}; events follow on standard output, one JSON line each.").ConfigureAwait(false);

            _ = inputClosed.ContinueWith(_ => CancelQuietly(stop), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            if (parseResult.GetValue(timeout) is { } limitTime)
            {
                deadline.Token.Register(() => CancelQuietly(stop));
                deadline.CancelAfter(limitTime); // from the moment the subscription is registered
            }

            var printed = 0;
            try
            {
                await foreach (var relayEvent in subscription.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    await context.Output.WriteLineAsync(JsonShapes.Line(JsonShapes.Event(relayEvent))).ConfigureAwait(false);
                    await context.Output.FlushAsync(stop.Token).ConfigureAwait(false);
                    if (groupName is not null)
                    {
                        await subscription.AckAsync(relayEvent).ConfigureAwait(false); // only once the line is out
                    }

                    if (++printed == limit)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C, SIGTERM or standard input closed: the normal way to end a subscription.
            }
            catch (IOException)
            {
                // Standard output closed (… | head -1): nobody is reading any more.
            }

            if (printed == 0 && deadline.IsCancellationRequested)
            {
                await context.Error.WriteLineAsync($"contextrelay: no event on '{name}' within {Durations.Format(parseResult.GetValue(timeout)!.Value)}.").ConfigureAwait(false);
                return ExitCodes.Timeout;
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    /// <summary>Stops the subscription loop; after the command returned there is nothing left to stop.</summary>
    private static void CancelQuietly(CancellationTokenSource stop)
    {
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static Command HistoryCommand(SharedOptions shared)
    {
        var channel = ChannelArgument();
        var since = SinceOption("Only the events after this sequence number (default 0: all the channel retains).");
        var limit = new Option<int?>("--limit") { Description = "At most this many events (the relay's default 100, at most 1,000)." };
        var json = JsonOption();
        var command = new Command("history", "List the events a channel retains (its last 1,000, up to 24 h by default), oldest first.")
        {
            channel, since, limit, json,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, shared, async context =>
        {
            var name = parseResult.GetValue(channel)!;
            var events = await context.Relay.GetHistoryAsync(name, parseResult.GetValue(since) ?? 0, parseResult.GetValue(limit), cancellationToken).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                await context.Output.WriteLineAsync(JsonShapes.Line(JsonShapes.History(name, events))).ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            foreach (var relayEvent in events)
            {
                var what = relayEvent.Type == RelayEventType.Push ? $"push     {relayEvent.Url}" : $"message  {relayEvent.Data?.ReplaceLineEndings(" ")}";
                var metadata = relayEvent.Metadata.Count > 0 ? "  " + JsonShapes.Line(relayEvent.Metadata) : string.Empty;
                await context.Output.WriteLineAsync($"{relayEvent.Seq,6}  {relayEvent.Timestamp.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z  {what}{metadata}").ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return command;
    }

    private static Argument<string> ChannelArgument()
    {
        var channel = new Argument<string>("channel") { Description = "The channel's name." };
        channel.Validators.Add(ChannelNames.Validator("channel"));
        return channel;
    }

    private static Option<long?> SinceOption(string description) => new("--since") { Description = description };
}
