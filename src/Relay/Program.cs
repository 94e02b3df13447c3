using System.CommandLine;
using CtxRelay.Relay;
using CtxRelay.Relay.Storage;

// contextrelay-relay [serve] [--urls URL] [--data DIR] | keys create|list|revoke
var urls = new Option<string?>("--urls") { Description = $"Address(es) to listen on (default {RelayApp.DefaultUrl}; also ASPNETCORE_URLS)." };
var data = new Option<string?>("--data") { Description = "Data folder of the embedded engine (default ~/.contextrelay/data; also Relay__DataDirectory)." };
var storage = new Option<string?>("--storage") { Description = "Storage engine: sqlite (default) or redis (also Storage__Engine)." };
var redis = new Option<string?>("--redis") { Description = "Redis connection string for --storage redis (also Storage__Redis)." };
Option[] common = [data, storage, redis];
var open = new Option<bool>("--open") { Description = "Open mode: requests without an API key act in one workspace (for clients that never send a key). Loopback only unless --open-allow-remote." };
var openWorkspace = new Option<string?>("--open-workspace") { Description = "Workspace of key-less requests in open mode (default dev; also Relay__Open__Workspace)." };
var openAllowRemote = new Option<bool>("--open-allow-remote") { Description = "Let open mode listen on non-loopback addresses (anyone who reaches them can use the relay)." };
Option[] serveOnly = [urls, open, openWorkspace, openAllowRemote];

var serve = new Command("serve", "Run the relay (the default command).") { TreatUnmatchedTokensAsErrors = false };
foreach (var option in serveOnly.Concat(common))
{
    serve.Options.Add(option);
}

serve.SetAction((parse, ct) => Cli.Guard(() => Cli.ServeAsync([.. Cli.HostArgs(parse, urls, data, storage, redis), .. Cli.OpenModeArgs(parse, open, openWorkspace, openAllowRemote)], ct)));

var workspace = new Option<string>("--workspace", "-w") { Description = "Workspace the key belongs to.", Required = true };
var plan = new Option<string>("--plan") { Description = "Plan of the workspace (default, free, pro or one from configuration).", DefaultValueFactory = _ => "default" };
var readOnly = new Option<bool>("--read-only") { Description = "The key may pull, peek and subscribe, but not push, publish or delete." };
var create = new Command("create", "Create an API key; it is printed once and only its hash is stored.") { workspace, plan, readOnly };
create.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async store =>
{
    var key = await KeyAdmin.CreateAsync(store, parse.GetValue(workspace)!, parse.GetValue(plan)!, parse.GetValue(readOnly), ct);
    Console.WriteLine(key);
    Console.Error.WriteLine($"Created a key for workspace '{parse.GetValue(workspace)}'. It is shown only this once: store it now.");
}, ct)));

var list = new Command("list", "List keys (id, workspace, plan, scope, prefix, state); never the keys themselves.");
list.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async store =>
{
    Console.WriteLine($"{"ID",-18} {"WORKSPACE",-20} {"PLAN",-10} {"SCOPE",-10} {"PREFIX",-16} {"CREATED",-20} STATE");
    foreach (var key in await store.ListKeysAsync(ct))
    {
        Console.WriteLine($"{key.Id,-18} {key.Workspace,-20} {key.Plan,-10} {key.Scope,-10} {key.Prefix + "…",-16} {key.CreatedAt:yyyy-MM-dd HH:mm:ss} {(key.RevokedAt is null ? "active" : "revoked")}");
    }
}, ct)));

var keyId = new Argument<string>("key-id") { Description = "The key's id as 'keys list' shows it (key_…)." };
var revoke = new Command("revoke", "Revoke a key; relays stop accepting it within Relay:KeyCacheDuration.") { keyId };
revoke.SetAction((parse, ct) => Cli.Guard(() => Cli.WithStoreAsync(Cli.HostArgs(parse, urls, data, storage, redis), async store =>
{
    var id = parse.GetValue(keyId)!;
    if (!await store.RevokeKeyAsync(id, DateTimeOffset.UtcNow, ct))
    {
        throw new ArgumentException($"No key with id '{id}'. Run 'keys list' to see the ids.");
    }

    Console.WriteLine($"Revoked {id}.");
}, ct)));

var keys = new Command("keys", "Manage API keys.") { create, list, revoke };
foreach (var option in common)
{
    keys.Options.Add(option);
    option.Recursive = true;
}

var root = new RootCommand("ContextRelay relay: agents hand each other large payloads by URL.") { serve, keys };
root.TreatUnmatchedTokensAsErrors = false;
foreach (var option in serveOnly.Concat(common))
{
    root.Options.Add(option);
}

root.SetAction((parse, ct) => Cli.Guard(() => Cli.ServeAsync([.. Cli.HostArgs(parse, urls, data, storage, redis), .. Cli.OpenModeArgs(parse, open, openWorkspace, openAllowRemote)], ct)));
return await root.Parse(args).InvokeAsync();
