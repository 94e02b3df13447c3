using System.CommandLine;
using CtxRelay.Relay.Storage;
using CtxRelay.Shared;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay;

/// <summary>The command-line actions: errors become one line on stderr and exit code 1, never a stack trace.</summary>
internal static class Cli
{
    public static async Task<int> Guard(Func<Task> action)
    {
        try
        {
            await action().ConfigureAwait(false);
            return 0;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (UsageException usage)
        {
            Console.Error.WriteLine("contextrelay-relay: " + usage.Message);
            return 2;
        }
        catch (Exception ex)
        {
            // One line a person can act on; never a stack trace.
            Console.Error.WriteLine("contextrelay-relay: " + Describe(ex));
            return 1;
        }
    }

    /// <summary>Turns the CLI options into host arguments (configuration keys), keeping unmatched ones.</summary>
    public static string[] HostArgs(ParseResult parse, Option<string?> urls, Option<string?> data, Option<string?> storage, Option<string?> redis)
    {
        var args = ConfigurationTokens(parse);
        Add(args, "urls", parse.GetValue(urls));
        Add(args, "Relay:DataDirectory", parse.GetValue(data) is { } dir ? Path.GetFullPath(dir) : null);
        Add(args, "Storage:Engine", parse.GetValue(storage));
        Add(args, "Storage:Redis", parse.GetValue(redis));
        return [.. args];

        static void Add(List<string> args, string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                args.Add($"--{key}={value}");
            }
        }
    }

    /// <summary>The open-mode flags of <c>serve</c> as configuration keys (<c>Relay:Open:…</c>).</summary>
    public static IEnumerable<string> OpenModeArgs(ParseResult parse, Option<bool> open, Option<string?> workspace, Option<bool> allowRemote)
    {
        if (parse.GetValue(open))
        {
            yield return "--Relay:Open:Enabled=true";
        }

        if (parse.GetValue(workspace) is { Length: > 0 } name)
        {
            yield return "--Relay:Open:Workspace=" + name;
        }

        if (parse.GetValue(allowRemote))
        {
            yield return "--Relay:Open:AllowRemote=true";
        }
    }

    /// <summary>The logging flags of <c>serve</c> as configuration keys.</summary>
    public static IEnumerable<string> LoggingArgs(ParseResult parse, Option<string?> format, Option<bool> noAccessLog)
    {
        if (parse.GetValue(format) is { } name)
        {
            yield return "--Logging:Console:FormatterName=" + name;
        }

        if (parse.GetValue(noAccessLog))
        {
            yield return "--Relay:AccessLog=false";
        }
    }

    /// <summary>A host configuration key as ASP.NET Core takes it on the command line: a section path, or a host setting.</summary>
    private static bool IsConfigurationKey(string token)
    {
        var key = token.TrimStart('-', '/').Split('=')[0];
        return key.Contains(':', StringComparison.Ordinal) || key.Contains("__", StringComparison.Ordinal)
            || key.Equals("environment", StringComparison.OrdinalIgnoreCase) || key.Equals("contentRoot", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// What the command line did not match is passed on as configuration (<c>--Relay:MaxTtl=2.00:00:00</c>,
    /// <c>--Relay:MaxTtl 2.00:00:00</c>, <c>Relay:MaxTtl=…</c>); anything else — a mistyped command such as
    /// <c>kyes list</c> — is an error, never a reason to start a server.
    /// </summary>
    private static List<string> ConfigurationTokens(ParseResult parse)
    {
        var tokens = parse.UnmatchedTokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            var isKey = token.StartsWith("--", StringComparison.Ordinal) || token.StartsWith('/');
            if (isKey && !IsConfigurationKey(token))
            {
                // Not a configuration key (those name a section: --Relay:MaxTtl, --Logging__LogLevel__Default): a mistyped option.
                var option = token.Split('=')[0];
                var nearestOption = UsageErrors.OptionNames(parse.CommandResult).MinBy(known => UsageErrors.Distance(known, option))!;
                throw new UsageException(
                    $"unknown option '{option}'"
                    + (UsageErrors.Distance(nearestOption, option) <= 2 ? $"; did you mean '{nearestOption}'?" : ".")
                    + " Settings go as --Section:Key=value (e.g. --Relay:MaxTtl=2.00:00:00); see --help.");
            }

            if (isKey && !token.Contains('=', StringComparison.Ordinal) && i + 1 < tokens.Count)
            {
                i++; // "--Key value": the next token is the value
            }
            else if (!isKey && !token.Contains('=', StringComparison.Ordinal))
            {
                var commands = parse.RootCommandResult.Command.Subcommands;
                var nearest = commands.MinBy(command => UsageErrors.Distance(command.Name, token))!.Name;
                var listed = string.Join(", ", commands.Select(c => c.Subcommands.Count == 0 ? c.Name : $"{c.Name} {string.Join('|', c.Subcommands.Select(s => s.Name))}"));
                throw new UsageException(
                    $"unknown command or argument '{token}'"
                    + (UsageErrors.Distance(nearest, token) <= 2 ? $"; did you mean '{nearest}'?" : ".")
                    + $" Commands: {listed}; see --help.");
            }
        }

        return [.. tokens];
    }

    public static async Task ServeAsync(string[] hostArgs, CancellationToken cancellationToken)
    {
        var app = RelayApp.Build(hostArgs);
        await using (app.ConfigureAwait(false))
        {
            var store = app.Services.GetRequiredService<IRelayStore>();
            await app.Services.GetRequiredService<RelayApp.StoreInitializer>().EnsureAsync(cancellationToken).ConfigureAwait(false);
            var created = await KeyAdmin.BootstrapAsync(store, Environment.GetEnvironmentVariable("CONTEXTRELAY_API_KEY"), cancellationToken).ConfigureAwait(false);
            if (created is null && (await store.ListKeysAsync(cancellationToken).ConfigureAwait(false)).Any(k => k.Workspace == KeyAdmin.DevWorkspace))
            {
                Console.WriteLine($"Workspace '{KeyAdmin.DevWorkspace}' exists already; its key was shown on the first start. A new key: contextrelay-relay keys create --workspace {KeyAdmin.DevWorkspace}");
            }

            if (created is { } dev)
            {
                Console.WriteLine(dev.FromEnvironment
                    ? $"Created workspace '{KeyAdmin.DevWorkspace}' with the key from CONTEXTRELAY_API_KEY."
                    : $"""
                       Created workspace '{KeyAdmin.DevWorkspace}'. Its API key (shown once):

                           export CONTEXTRELAY_API_KEY={dev.Key}

                       """);
            }

            await app.RunAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public static async Task WithStoreAsync(string[] hostArgs, Func<IRelayStore, RelayOptions, Task> action, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(hostArgs)
            .Build();
        var relay = configuration.GetSection(RelayOptions.Section).Get<RelayOptions>() ?? new RelayOptions();
        var storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        await using var store = StoreFactory.Create(storage, relay, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await action(store, relay).ConfigureAwait(false);
    }

    /// <summary>The plan's configured name; an unknown one is an error that lists the plans.</summary>
    public static string RequirePlan(RelayOptions relay, string plan)
        => relay.Plans.Keys.FirstOrDefault(p => p.Equals(plan, StringComparison.OrdinalIgnoreCase))
           ?? throw new UsageException($"unknown plan '{plan}'. Plans: {string.Join(", ", relay.Plans.Keys.Order(StringComparer.Ordinal))} (add more under Relay:Plans).");

    /// <summary>Every workspace that has keys, a plan or (<paramref name="more"/>) usage: its plan and active keys.</summary>
    public static async Task<IReadOnlyList<(string Name, string Plan, int ActiveKeys)>> WorkspacesAsync(IRelayStore store, RelayOptions relay, CancellationToken cancellationToken, IEnumerable<string>? more = null)
    {
        var keys = await store.ListKeysAsync(cancellationToken).ConfigureAwait(false);
        var plans = await store.ListWorkspacePlansAsync(cancellationToken).ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;
        return [.. keys.Select(k => k.Workspace).Concat(plans.Keys).Concat(more ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(name =>
        {
            var own = keys.Where(k => k.Workspace == name).ToList();
            var plan = relay.PlanName(plans.GetValueOrDefault(name) ?? own.Select(k => k.Plan).FirstOrDefault(p => relay.Plans.ContainsKey(p)));
            return (name, plan, own.Count(k => k.RevokedAt is null && !(k.ExpiresAt <= now)));
        })];
    }

    public static string OfLimit(long used, long? limit)
        => limit is { } l ? FormattableString.Invariant($"{used:N0} / {l:N0}") : FormattableString.Invariant($"{used:N0}");

    private static string Describe(Exception ex) => ex switch
    {
        IOException io when io.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
            => $"{io.Message} Another process uses that port: stop it or pass --urls http://127.0.0.1:<other port>.",
        OptionsValidationException options => "invalid configuration: " + string.Join("; ", options.Failures),
        ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException or StorageUnavailableException => ex.Message,
        Microsoft.Data.Sqlite.SqliteException sqlite => $"the data folder's database failed ({sqlite.Message}); check --data and its permissions.",
        _ => $"unexpected {ex.GetType().Name}: {ex.Message}",
    };
}

/// <summary>The command line itself is wrong: one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
