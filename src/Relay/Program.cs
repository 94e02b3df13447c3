using System.CommandLine;
using CtxRelay.Relay;
using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Storage;

// contextrelay-relay [serve] [--urls URL] [--data DIR] | keys create|list|revoke | workspaces list|set-plan | usage
var urls = new Option<string?>("--urls") { Description = $"Address(es) to listen on (default {RelayApp.DefaultUrl}; also ASPNETCORE_URLS)." };
var data = new Option<string?>("--data") { Description = "Data folder of the embedded engine (default ~/.contextrelay/data; also Relay__DataDirectory)." };
var storage = new Option<string?>("--storage") { Description = "Storage engine: sqlite (default) or redis (also Storage__Engine)." };
var redis = new Option<string?>("--redis") { Description = "Redis connection string for --storage redis (also Storage__Redis)." };
Option[] common = [data, storage, redis];
var open = new Option<bool>("--open") { Description = "Open mode: requests without an API key act in one workspace (for clients that never send a key). Loopback only unless --open-allow-remote." };
var openWorkspace = new Option<string?>("--open-workspace") { Description = "Workspace of key-less requests in open mode (default dev; also Relay__Open__Workspace)." };
var openAllowRemote = new Option<bool>("--open-allow-remote") { Description = "Let open mode listen on non-loopback addresses (anyone who reaches them can use the relay)." };
var logFormat = new Option<string?>("--log-format") { Description = "Console log format: simple (default), json (one JSON object per line, for containers) or systemd (also Logging__Console__FormatterName)." };
logFormat.AcceptOnlyFromAmong("simple", "json", "systemd");
var noAccessLog = new Option<bool>("--no-access-log") { Description = "Do not log a line per request (also Relay__AccessLog=false)." };
Option[] serveOnly = [urls, open, openWorkspace, openAllowRemote, logFormat, noAccessLog];

var serve = new Command("serve", "Run the relay (the default command).");
foreach (var option in serveOnly)
{
    serve.Options.Add(option);
}

serve.SetAction((parse, ct) => Cli.Guard(() => Cli.ServeAsync([.. Cli.HostArgs(parse, urls, data, storage, redis), .. Cli.OpenModeArgs(parse, open, openWorkspace, openAllowRemote), .. Cli.LoggingArgs(parse, logFormat, noAccessLog)], ct)));

var workspace = new Option<string>("--workspace", "-w") { Description = "Workspace the key belongs to.", Required = true };
var plan = new Option<string?>("--plan") { Description = "Also put the workspace on this plan (free, pro, team, unlimited or one from configuration); see 'workspaces set-plan'." };
var readOnly = new Option<bool>("--read-only") { Description = "The key may pull, peek and subscribe, but not push, publish or delete." };
var pushOnly = new Option<bool>("--push-only") { Description = "The key may push and publish, but not pull, peek, delete or subscribe." };
var channels = new Option<string?>("--channels") { Description = "Limit the key to these channels, comma-separated; * matches any characters (e.g. research-*,alerts)." };
var expires = new Option<string?>("--expires") { Description = "The key stops working after this: a duration (30d, 12h, 90m) or a date (2027-01-31T12:00:00Z)." };
var create = new Command("create", "Create an API key; it is printed once and only its hash is stored.") { workspace, plan, readOnly, pushOnly, channels, expires };
create.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async (store, relay) =>
{
    if (parse.GetValue(readOnly) && parse.GetValue(pushOnly))
    {
        throw new UsageException("--read-only and --push-only exclude each other: a key with both could do nothing.");
    }

    var name = parse.GetValue(workspace)!;
    var planName = parse.GetValue(plan);
    if (planName is not null)
    {
        Cli.RequirePlan(relay, planName);
    }

    var scope = parse.GetValue(readOnly) ? KeyScope.ReadOnly : parse.GetValue(pushOnly) ? KeyScope.PushOnly : KeyScope.ReadWrite;
    var expiry = parse.GetValue(expires) is { } text ? KeyAdmin.ParseExpiry(text, DateTimeOffset.UtcNow) : (DateTimeOffset?)null;
    var key = await KeyAdmin.CreateAsync(store, new KeySpec(name, planName, scope, parse.GetValue(channels), expiry), ct);
    if (planName is not null)
    {
        await store.SetWorkspacePlanAsync(name, relay.PlanName(planName), ct);
    }

    Console.WriteLine(key);
    Console.Error.WriteLine($"Created a key for workspace '{name}'. It is shown only this once: store it now.");
}, ct)));

var list = new Command("list", "List keys (id, workspace, scope, channels, prefix, expiry, state); never the keys themselves.");
list.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async (store, relay) =>
{
    var now = DateTimeOffset.UtcNow;
    Console.WriteLine($"{"ID",-18} {"WORKSPACE",-20} {"SCOPE",-10} {"CHANNELS",-16} {"PREFIX",-16} {"CREATED",-20} {"EXPIRES",-20} STATE");
    foreach (var key in await store.ListKeysAsync(ct))
    {
        var state = key.RevokedAt is not null ? "revoked" : key.ExpiresAt <= now ? "expired" : "active";
        Console.WriteLine($"{key.Id,-18} {key.Workspace,-20} {key.Scope,-10} {key.Channels ?? "*",-16} {key.Prefix + "…",-16} {key.CreatedAt:yyyy-MM-dd HH:mm:ss}  {(key.ExpiresAt is { } e ? e.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) : "never"),-20} {state}");
    }
}, ct)));

var keyId = new Argument<string>("key-id") { Description = "The key's id as 'keys list' shows it (key_…)." };
var revoke = new Command("revoke", "Revoke a key; every relay refuses it, and closes its WebSockets, within a second (Relay:AccessCheckInterval).") { keyId };
revoke.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async (store, _) =>
{
    var id = parse.GetValue(keyId)!;
    if (!await store.RevokeKeyAsync(id, DateTimeOffset.UtcNow, ct))
    {
        throw new ArgumentException($"No key with id '{id}'. Run 'keys list' to see the ids.");
    }

    Console.WriteLine($"Revoked {id}.");
}, ct)));

var workspacesList = new Command("list", "List workspaces with their plan and number of active keys.");
workspacesList.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async (store, relay) =>
{
    Console.WriteLine($"{"WORKSPACE",-24} {"PLAN",-12} KEYS");
    foreach (var (name, planName, activeKeys) in await Cli.WorkspacesAsync(store, relay, ct))
    {
        Console.WriteLine($"{name,-24} {planName,-12} {activeKeys}");
    }
}, ct)));

var workspaceName = new Argument<string>("workspace") { Description = "The workspace's name." };
var planArgument = new Argument<string>("plan") { Description = "free, pro, team, unlimited, or a plan from configuration (Relay:Plans)." };
var setPlan = new Command("set-plan", "Put a workspace on a plan; every relay applies it within a second.") { workspaceName, planArgument };
setPlan.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async (store, relay) =>
{
    var name = parse.GetValue(workspaceName)!;
    var planName = Cli.RequirePlan(relay, parse.GetValue(planArgument)!);
    if (!ApiKeys.IsValidWorkspaceName(name))
    {
        throw new ArgumentException($"'{name}' is not a valid workspace name: use 1–64 letters, digits, '-', '_' or '.'.");
    }

    await store.SetWorkspacePlanAsync(name, planName, ct);
    Console.WriteLine($"Workspace '{name}' is on plan '{planName}'.");
}, ct)));
var workspaces = new Command("workspaces", "List workspaces and set their plans.") { workspacesList, setPlan };

var period = new Option<string?>("--period") { Description = "The month to show, yyyy-MM (default: this month, UTC)." };
var usage = new Command("usage", "Pushes and pulls of every workspace this month, against its plan's quotas.") { period };
usage.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async (store, relay) =>
{
    var month = parse.GetValue(period) ?? CtxRelay.Relay.Features.Metering.Month(DateTimeOffset.UtcNow);
    if (!DateTime.TryParseExact(month, "yyyy-MM", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _))
    {
        throw new UsageException($"--period '{month}' is not a month: use yyyy-MM, e.g. 2026-11.");
    }

    var counts = (await store.ReadUsageAsync(month, null, ct)).ToLookup(r => r.Key.Workspace);
    Console.WriteLine($"{"WORKSPACE",-24} {"PLAN",-12} {"PUSHES",-22} PULLS   ({month})");
    foreach (var (name, planName, _) in await Cli.WorkspacesAsync(store, relay, ct, counts.Select(g => g.Key)))
    {
        var limits = relay.GetPlan(planName);
        var used = counts[name].ToDictionary(r => r.Key.Meter, r => r.Value);
        Console.WriteLine($"{name,-24} {planName,-12} {Cli.OfLimit(used.GetValueOrDefault("pushes"), limits.MonthlyPushes),-22} {Cli.OfLimit(used.GetValueOrDefault("pulls"), limits.MonthlyPulls)}");
    }
}, ct)));

var keys = new Command("keys", "Manage API keys.") { create, list, revoke };
foreach (var option in common)
{
    option.Recursive = true; // on the root, so every command has them, and --help lists each once
}

var root = new RootCommand("ContextRelay relay: agents hand each other large payloads by URL.") { serve, keys, workspaces, usage };
foreach (var option in serveOnly.Concat(common))
{
    root.Options.Add(option);
}

root.SetAction((parse, ct) => Cli.Guard(() => Cli.ServeAsync([.. Cli.HostArgs(parse, urls, data, storage, redis), .. Cli.OpenModeArgs(parse, open, openWorkspace, openAllowRemote), .. Cli.LoggingArgs(parse, logFormat, noAccessLog)], ct)));
// Every command takes --Section:Key=value settings after its own options; Cli.HostArgs checks what is left over
// (a mistyped option is still a one-line error there, with the nearest valid one).
AcceptSettings(root);

var parsed = root.Parse(args);
if (CtxRelay.Shared.UsageErrors.Report(parsed, "contextrelay-relay", Console.Error) is { } wrongUsage)
{
    return wrongUsage; // one line naming the nearest valid command or option (System.CommandLine would add the whole help), exit code 2
}

return await parsed.InvokeAsync();

static void AcceptSettings(Command command)
{
    command.TreatUnmatchedTokensAsErrors = false;
    foreach (var subcommand in command.Subcommands)
    {
        AcceptSettings(subcommand);
    }
}
