using System.CommandLine;
using CtxRelay.Relay.Storage;
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
        var args = new List<string>(parse.UnmatchedTokens);
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

    public static async Task ServeAsync(string[] hostArgs, CancellationToken cancellationToken)
    {
        var app = RelayApp.Build(hostArgs);
        await using (app.ConfigureAwait(false))
        {
            var store = app.Services.GetRequiredService<IRelayStore>();
            await app.Services.GetRequiredService<RelayApp.StoreInitializer>().EnsureAsync(cancellationToken).ConfigureAwait(false);
            var created = await KeyAdmin.BootstrapAsync(store, Environment.GetEnvironmentVariable("CONTEXTRELAY_API_KEY"), cancellationToken).ConfigureAwait(false);
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

    public static async Task WithStoreAsync(string[] hostArgs, Func<IRelayStore, Task> action, CancellationToken cancellationToken)
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
        await action(store).ConfigureAwait(false);
    }

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
