using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>The built relay as a process: durability across kill -9 and restarts, and its CLI.</summary>
public sealed class ProcessTests : IDisposable
{
    private readonly TemporaryDirectory _folder = new("proc");
    private readonly string _key = "cr_live_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40);

    [Fact]
    public async Task A_push_acknowledged_right_before_kill_9_survives_the_restart()
    {
        var port = RelayProcess.FreePort();
        var pushed = new List<(string Id, byte[] Body)>();
        await using (var relay = await RelayProcess.StartAsync(_folder.Path, port, _key))
        {
            using var http = Client(relay);
            for (var i = 0; i < 20; i++)
            {
                var body = RandomNumberGenerator.GetBytes(i == 19 ? 3 * 1024 * 1024 : 1000 + i);
                using var response = await Http.PushRawAsync(http, body, "?channel=durable");
                var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
                pushed.Add((id, body));
            }

            await relay.KillAsync(); // immediately after the last answer
        }

        await using var restarted = await RelayProcess.StartAsync(_folder.Path, port, _key);
        using var again = Client(restarted);
        foreach (var (id, body) in pushed)
        {
            Assert.Equal(body, await again.GetByteArrayAsync($"pull/{id}"));
        }

        // Channel sequence numbers continue after the restart.
        var history = await again.GetFromJsonAsync<JsonObject>("channels/durable/history?since=0&limit=100");
        Assert.Equal(Enumerable.Range(1, 20), history!["events"]!.AsArray().Select(e => (int)e!["seq"]!.GetValue<long>()));
        using var published = await again.PostAsJsonAsync("publish/durable", new { data = "after restart" });
        Assert.Equal(21, (await published.Content.ReadFromJsonAsync<JsonObject>())!["seq"]!.GetValue<long>());
    }

    [Fact]
    public async Task Serve_creates_the_dev_workspace_with_the_environment_key_and_keys_commands_manage_keys()
    {
        var port = RelayProcess.FreePort();
        await using (var relay = await RelayProcess.StartAsync(_folder.Path, port, _key))
        {
            using var http = Client(relay);
            await Http.PushJsonAsync(http, new { data = "dev works" });
            Assert.Contains("CONTEXTRELAY_API_KEY", relay.Output, StringComparison.Ordinal);
        }

        var (code, stdout, stderr) = await RelayProcess.RunCliAsync("keys", "create", "--workspace", "acme", "--data", _folder.Path);
        Assert.True(code == 0, stderr);
        var acmeKey = stdout.Trim();
        Assert.Matches("^cr_live_[A-Za-z0-9]{40}$", acmeKey);
        Assert.Contains("only this once", stderr, StringComparison.Ordinal);

        var list = await RelayProcess.RunCliAsync("keys", "list", "--data", _folder.Path);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("acme", list.StdOut, StringComparison.Ordinal);
        Assert.Contains("dev", list.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(acmeKey, list.StdOut, StringComparison.Ordinal); // only hashes are stored
        Assert.DoesNotContain(_key, list.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(acmeKey, await File.ReadAllTextAsync(Path.Combine(_folder.Path, "relay.db"), System.Text.Encoding.Latin1), StringComparison.Ordinal);

        await using (var relay = await RelayProcess.StartAsync(_folder.Path, port, _key))
        {
            using var acme = Client(relay, acmeKey);
            await Http.PushJsonAsync(acme, new { data = "acme works" });

            var keyId = list.StdOut.Split('\n').Single(l => l.Contains("acme", StringComparison.Ordinal)).Split(' ')[0];
            var revoked = await RelayProcess.RunCliAsync("keys", "revoke", keyId, "--data", _folder.Path);
            Assert.True(revoked.ExitCode == 0, revoked.StdErr);

            // The relay caches verified keys, but watches the store's access revision every second.
            await Wait.Until(async () => (await acme.PostAsJsonAsync("push", new { data = "x" })).StatusCode == System.Net.HttpStatusCode.Unauthorized, "the revoked key to be refused", TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public async Task Plan_and_scope_commands_set_plans_limit_keys_and_report_usage()
    {
        var created = await RelayProcess.RunCliAsync("keys", "create", "--workspace", "acme", "--plan", "free", "--push-only", "--channels", "research-*", "--expires", "30d", "--data", _folder.Path);
        Assert.True(created.ExitCode == 0, created.StdErr);
        var key = created.StdOut.Trim();

        var keys = await RelayProcess.RunCliAsync("keys", "list", "--data", _folder.Path);
        var line = keys.StdOut.Split('\n').Single(l => l.Contains("acme", StringComparison.Ordinal));
        Assert.Contains("PushOnly", line, StringComparison.Ordinal);
        Assert.Contains("research-*", line, StringComparison.Ordinal);
        Assert.Contains(DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), line, StringComparison.Ordinal);
        Assert.Matches(@"acme\s+free\s+1", (await RelayProcess.RunCliAsync("workspaces", "list", "--data", _folder.Path)).StdOut);

        var setPlan = await RelayProcess.RunCliAsync("workspaces", "set-plan", "acme", "PRO", "--data", _folder.Path);
        Assert.True(setPlan.ExitCode == 0, setPlan.StdErr);
        Assert.Contains("'acme' is on plan 'pro'", setPlan.StdOut, StringComparison.Ordinal);
        Assert.Matches(@"acme\s+pro\s+1", (await RelayProcess.RunCliAsync("workspaces", "list", "--data", _folder.Path)).StdOut);

        await using (var relay = await RelayProcess.StartAsync(_folder.Path, RelayProcess.FreePort(), _key))
        {
            using var http = Client(relay, key);
            await Http.PushJsonAsync(http, new { data = "one", channel = "research-1" });
            await Http.PushJsonAsync(http, new { data = "two", channel = "research-2" });
            await Http.ReadProblemAsync(await http.PostAsJsonAsync("push", new { data = "three", channel = "ops" }), 403);
        }

        var usage = await RelayProcess.RunCliAsync("usage", "--data", _folder.Path);
        Assert.True(usage.ExitCode == 0, usage.StdErr);
        Assert.Matches(@"acme\s+pro\s+2 / 100,000\s+0 / 1,000,000", usage.StdOut);

        var configured = await RelayProcess.RunCliAsync("workspaces", "set-plan", "other", "gold", "--Relay:Plans:gold:MonthlyPushes=5", "--data", _folder.Path);
        Assert.True(configured.ExitCode == 0, configured.StdErr); // plans from settings given on the command line
        Assert.Contains("'other' is on plan 'gold'", configured.StdOut, StringComparison.Ordinal);

        var unknownPlan = await RelayProcess.RunCliAsync("workspaces", "set-plan", "acme", "gold", "--data", _folder.Path);
        Assert.Equal(2, unknownPlan.ExitCode);
        Assert.Contains("unknown plan 'gold'. Plans: free, pro, team, unlimited", unknownPlan.StdErr, StringComparison.Ordinal);
        var both = await RelayProcess.RunCliAsync("keys", "create", "--workspace", "acme", "--read-only", "--push-only", "--data", _folder.Path);
        Assert.Equal(2, both.ExitCode);
        var badPattern = await RelayProcess.RunCliAsync("keys", "create", "--workspace", "acme", "--channels", "a/b", "--data", _folder.Path);
        Assert.Equal(1, badPattern.ExitCode);
        Assert.Contains("* matches any characters", badPattern.StdErr, StringComparison.Ordinal);
        var past = await RelayProcess.RunCliAsync("keys", "create", "--workspace", "acme", "--expires", "2001-01-01", "--data", _folder.Path);
        Assert.Equal(1, past.ExitCode);
        Assert.Contains("in the past", past.StdErr, StringComparison.Ordinal);
        var badPeriod = await RelayProcess.RunCliAsync("usage", "--period", "2026-13", "--data", _folder.Path);
        Assert.Equal(2, badPeriod.ExitCode);
        foreach (var failure in new[] { unknownPlan, both, badPattern, past, badPeriod })
        {
            Assert.Single(failure.StdErr.Trim().Split('\n'));
        }
    }

    [Fact]
    public async Task Cli_errors_are_one_line_that_names_the_fix_and_exit_non_zero()
    {
        var badWorkspace = await RelayProcess.RunCliAsync("keys", "create", "--workspace", "bad name!", "--data", _folder.Path);
        Assert.Equal(1, badWorkspace.ExitCode);
        Assert.Contains("valid workspace name", badWorkspace.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", badWorkspace.StdErr, StringComparison.Ordinal);

        var unknownKey = await RelayProcess.RunCliAsync("keys", "revoke", "key_nope", "--data", _folder.Path);
        Assert.Equal(1, unknownKey.ExitCode);
        Assert.Contains("keys list", unknownKey.StdErr, StringComparison.Ordinal);

        var noRedis = await RelayProcess.RunCliAsync("serve", "--storage", "redis", "--redis", $"127.0.0.1:{RelayProcess.FreePort()}", "--urls", $"http://127.0.0.1:{RelayProcess.FreePort()}", "--data", _folder.Path);
        Assert.Equal(1, noRedis.ExitCode);
        Assert.Contains("Cannot reach Redis", noRedis.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", noRedis.StdErr, StringComparison.Ordinal);

        var badEngine = await RelayProcess.RunCliAsync("keys", "list", "--storage", "bogus", "--data", _folder.Path);
        Assert.Equal(1, badEngine.ExitCode);
        Assert.Contains("'sqlite' or 'redis'", badEngine.StdErr, StringComparison.Ordinal);

        var missing = await RelayProcess.RunCliAsync("keys", "create", "--data", _folder.Path);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("--workspace", missing.StdErr + missing.StdOut, StringComparison.Ordinal);

        var typo = await RelayProcess.RunCliAsync("kyes", "list", "--data", _folder.Path); // once started a server
        Assert.Equal(2, typo.ExitCode);
        Assert.Contains("did you mean 'keys'?", typo.StdErr, StringComparison.Ordinal);
        Assert.Single(typo.StdErr.Trim().Split('\n'));

        foreach (var (args, expected) in new (string[] Args, string Expected)[]
        {
            (["keys", "lst"], "did you mean 'list'?"),
            (["keys", "create", "--wrkspace", "acme"], "did you mean '--workspace'?"),
            (["--versoin"], "did you mean '--version'?"),
            (["serve", "--url", "http://127.0.0.1:1"], "did you mean '--urls'?"),
            (["serve", "--log-format", "xml"], "'simple' 'json' 'systemd'"),
        })
        {
            var wrong = await RelayProcess.RunCliAsync([.. args, "--data", _folder.Path]);
            Assert.Equal(2, wrong.ExitCode);
            Assert.Contains(expected, wrong.StdErr, StringComparison.Ordinal);
            Assert.Single(wrong.StdErr.Trim().Split('\n'));
            Assert.Equal(string.Empty, wrong.StdOut); // neither help text nor a started server
        }

        var busyPort = RelayProcess.FreePort();
        await using (var first = await RelayProcess.StartAsync(_folder.Path, busyPort, _key))
        {
            using var other = new TemporaryDirectory("second");
            var second = await RelayProcess.RunCliAsync("serve", "--urls", $"http://127.0.0.1:{busyPort}", "--data", other.Path);
            AssertOneLineError(second, "address already in use", "--urls");
        }

        var openToAll = await RelayProcess.RunCliAsync("serve", "--open", "--urls", $"http://0.0.0.0:{RelayProcess.FreePort()}", "--data", _folder.Path);
        Assert.Equal(1, openToAll.ExitCode);
        Assert.Contains("--open-allow-remote", openToAll.StdErr, StringComparison.Ordinal);
        Assert.Single(openToAll.StdErr.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_second_relay_on_a_served_data_folder_refuses_to_start_and_the_first_keeps_serving()
    {
        var first = await RelayProcess.StartAsync(_folder.Path, RelayProcess.FreePort(), _key);
        string id;
        await using (first)
        {
            using var http = Client(first);
            id = (await Http.PushJsonAsync(http, new { data = "kept by the first relay" }))["id"]!.GetValue<string>();

            // Two relays on one SQLite folder would each store correctly but deliver channel events only to their own subscribers.
            var second = await RelayProcess.RunCliAsync("serve", "--urls", $"http://127.0.0.1:{RelayProcess.FreePort()}", "--data", _folder.Path);
            AssertOneLineError(second, "in use by another relay", "--storage redis");

            // The key commands open the folder beside the running relay, as before.
            var keys = await RelayProcess.RunCliAsync("keys", "create", "--workspace", "beside", "--data", _folder.Path);
            Assert.True(keys.ExitCode == 0, keys.StdErr);

            // The first relay never noticed.
            Assert.Equal("kept by the first relay", await http.GetStringAsync($"pull/{id}"));
            await Http.PushJsonAsync(http, new { data = "still taking pushes" });

            await first.KillAsync(); // kill -9: the operating system lets go of the folder's lock
        }

        await using var next = await RelayProcess.StartAsync(_folder.Path, RelayProcess.FreePort(), _key);
        using var again = Client(next);
        Assert.Equal("kept by the first relay", await again.GetStringAsync($"pull/{id}"));
    }

    [Fact]
    public async Task A_fresh_start_writes_nothing_outside_its_data_folder_and_logs_one_line_per_request()
    {
        using var home = new TemporaryDirectory("home");
        var environment = new Dictionary<string, string> { ["HOME"] = home.Path, ["Logging__LogLevel__Default"] = "Information" };
        await using (var relay = await RelayProcess.StartAsync(_folder.Path, RelayProcess.FreePort(), _key, environment))
        {
            using var http = Client(relay);
            await Http.PushJsonAsync(http, new { data = "logged as one line, never its text" });
            using var stranger = Client(relay, "cr_live_" + new string('X', 40));
            for (var i = 0; i < 3; i++)
            {
                await Http.ReadProblemAsync(await stranger.GetAsync("channels/c/history"), 401);
            }

            await Wait.Until(() => Task.FromResult(relay.Output.Split('\n').Count(l => l.Contains("/channels/c/history 401", StringComparison.Ordinal)) == 3), "the access log lines");
            var output = relay.Output;
            Assert.Contains("POST /push 200", output, StringComparison.Ordinal);
            Assert.DoesNotContain("never its text", output, StringComparison.Ordinal);
            Assert.DoesNotContain("not authenticated", output, StringComparison.Ordinal); // failed auth is counted, not logged per request
            Assert.DoesNotContain("challenged", output, StringComparison.Ordinal);
            Assert.DoesNotContain("DataProtection", output, StringComparison.Ordinal);
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(home.Path)); // no ~/.aspnet/DataProtection-Keys

        var restarted = await RelayProcess.StartAsync(_folder.Path, RelayProcess.FreePort(), _key, environment);
        await restarted.DisposeAsync();
        Assert.Contains("keys create --workspace dev", restarted.Output, StringComparison.Ordinal); // how to get another dev key
    }

    [Fact]
    public async Task Json_console_logs_are_one_json_object_a_line_for_containers()
    {
        var environment = new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json", ["Logging__LogLevel__Default"] = "Information" };
        await using var relay = await RelayProcess.StartAsync(_folder.Path, RelayProcess.FreePort(), _key, environment);
        using var http = Client(relay);
        await Http.PushJsonAsync(http, new { data = "logged as JSON" });

        await Wait.Until(() => Task.FromResult(relay.Output.Contains("POST /push 200", StringComparison.Ordinal)), "the access log line");
        var lines = relay.Output.Split('\n').Where(l => l.TrimStart().StartsWith('{')).ToList();
        var access = lines.Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).First(l => l["Category"]?.GetValue<string>() == "CtxRelay.Relay.Access" && l["Message"]!.GetValue<string>().StartsWith("POST /push 200", StringComparison.Ordinal));
        Assert.Equal("Information", access["LogLevel"]!.GetValue<string>());
        Assert.Equal("/push", access["State"]!["Path"]!.GetValue<string>());
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>Exit code 1 and one line on stderr that says each of <paramref name="expected"/>, no stack trace.</summary>
    private static void AssertOneLineError((int ExitCode, string StdOut, string StdErr) run, params string[] expected)
    {
        Assert.Equal(1, run.ExitCode);
        foreach (var text in expected)
        {
            Assert.Contains(text, run.StdErr, StringComparison.Ordinal);
        }

        Assert.Single(run.StdErr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", run.StdOut + run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_sigterm_every_subscriber_reads_1012_even_while_events_are_flowing_to_it()
    {
        // An event being sent when the relay closed the socket used to cancel the session at once, which
        // aborted the socket before its close frame left: 17 to 28 of 50 such subscribers saw a reset.
        await using var relay = await RelayProcess.StartAsync(_folder.Path, RelayProcess.FreePort(), _key);
        var endings = new List<Task<string>>();
        var received = 0;
        for (var i = 0; i < 8; i++)
        {
            var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Bearer " + _key);
            await socket.ConnectAsync(new Uri(relay.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws/busy"), CancellationToken.None);
            endings.Add(Task.Run(async () =>
            {
                using var owned = socket;
                var buffer = new byte[64 * 1024];
                try
                {
                    while (true)
                    {
                        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close)
                        {
                            return $"close {(int)result.CloseStatus!}";
                        }

                        Interlocked.Increment(ref received);
                    }
                }
                catch (WebSocketException ex)
                {
                    return "reset: " + ex.Message;
                }
            }));
        }

        using var stopPublishing = new CancellationTokenSource();
        using var http = Client(relay);
        var message = new { data = new string('x', 2000) };
        var publishers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stopPublishing.IsCancellationRequested)
            {
                try
                {
                    using var published = await http.PostAsJsonAsync("publish/busy", message);
                }
                catch (HttpRequestException)
                {
                    return; // the relay has stopped listening
                }
            }
        })).ToList();
        await Wait.Until(() => Task.FromResult(Volatile.Read(ref received) >= 200), "events to flow to the subscribers");

        Assert.Equal(0, await relay.TerminateAsync(TimeSpan.FromSeconds(30)));
        await stopPublishing.CancelAsync();
        await Task.WhenAll(publishers);

        Assert.All(await Task.WhenAll(endings).WaitAsync(TimeSpan.FromSeconds(10)), ending => Assert.Equal("close 1012", ending));
    }

    private HttpClient Client(RelayProcess relay, string? key = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(relay.BaseUrl + "/") };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key ?? _key);
        return http;
    }
}
