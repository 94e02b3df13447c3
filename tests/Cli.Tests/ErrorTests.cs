using CtxRelay.Testing;

namespace CtxRelay.Cli.Tests;

/// <summary>A relay with a 1 KiB payload limit and a plan of 2 requests a minute, so limits are quick to provoke.</summary>
public sealed class SmallPayloadRelayFixture : RelayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Relay:MaxPayloadBytes"] = "1024",
        ["Relay:Plans:tiny:RequestsPerMinute"] = "2",
    };
}

/// <summary>Every failure is one line on stderr that names the fix, with its own exit code; never a stack trace.</summary>
public sealed class ErrorTests(SmallPayloadRelayFixture relay) : IClassFixture<SmallPayloadRelayFixture>
{
    private readonly CliTool _cli = CliTool.For(relay);

    private static void AssertOneLine(CliResult result, int exitCode, string expected)
    {
        Assert.True(result.ExitCode == exitCode, $"expected exit {exitCode}: {result}");
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("contextrelay: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
        Assert.Empty(result.StandardOutputBytes);
    }

    private async Task<string> PushAsync(string text)
    {
        using var sdk = relay.CreateClient();
        return await sdk.PushAsync(text);
    }

    [Fact]
    public async Task Without_a_key_the_error_says_to_export_it_with_exit_code_4()
    {
        var url = await PushAsync("x");
        var result = await new CliTool(relay.BaseUrl, apiKey: null).RunAsync("peek", url);
        AssertOneLine(result, 4, "CONTEXTRELAY_API_KEY is not set: export the key your relay printed");
    }

    [Fact]
    public async Task A_rejected_key_and_a_read_only_key_exit_4_naming_what_to_do()
    {
        var rejected = await new CliTool(relay.BaseUrl, "cr_live_" + new string('A', 40)).RunAsync("history", "jobs");
        AssertOneLine(rejected, 4, "Check CONTEXTRELAY_API_KEY (or --api-key)");

        var readOnly = await relay.CreateKeyAsync("ro-" + Guid.NewGuid().ToString("N")[..6], readOnly: true);
        var refused = await _cli.RunWithInputAsync("text", "--api-key", readOnly, "push");
        AssertOneLine(refused, 4, "read-write key");
    }

    [Fact]
    public async Task An_unknown_id_exits_3_and_says_it_may_have_expired()
    {
        var result = await _cli.RunAsync("pull", Guid.NewGuid().ToString());
        AssertOneLine(result, 3, "It may have expired");
        var peek = await _cli.RunAsync("peek", relay.BaseUrl + "/pull/" + Guid.NewGuid());
        AssertOneLine(peek, 3, "Not found");
    }

    [Fact]
    public async Task A_url_of_another_relay_that_is_not_found_here_says_which_relay_to_set()
    {
        var elsewhere = "http://relay-b.example:8787/pull/" + Guid.NewGuid();
        AssertOneLine(await _cli.RunAsync("pull", elsewhere), 3, $"The URL points at http://relay-b.example:8787 but this asked {relay.BaseUrl}: set CONTEXTRELAY_URL (or --url)");
        var here = await _cli.RunAsync("peek", relay.BaseUrl + "/pull/" + Guid.NewGuid());
        Assert.DoesNotContain("points at", here.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_payload_url_is_a_usage_error()
    {
        var result = await _cli.RunAsync("pull", "not a url!");
        AssertOneLine(result, 2, "'not a url!' is neither a ContextRelay URL (…/pull/<id>) nor a payload id.");
    }

    [Fact]
    public async Task A_bad_relay_url_is_a_usage_error_naming_where_it_came_from()
    {
        var fromEnvironment = await new CliTool("ftp://relay.example", relay.ApiKey).RunAsync("history", "jobs");
        AssertOneLine(fromEnvironment, 2, "CONTEXTRELAY_URL 'ftp://relay.example' is not an http(s) address");
        var fromOption = await _cli.RunAsync("history", "jobs", "--url", "relay:8787");
        AssertOneLine(fromOption, 2, "--url 'relay:8787' is not an http(s) address");
    }

    [Fact]
    public async Task An_unreachable_relay_exits_1_asking_whether_it_runs()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // a port nothing listens on
        var result = await new CliTool($"http://127.0.0.1:{port}", relay.ApiKey).RunAsync("peek", Guid.NewGuid().ToString());
        AssertOneLine(result, 1, "Is the relay running? Check CONTEXTRELAY_URL (or --url)");
    }

    [Fact]
    public async Task Wrong_or_missing_keys_of_encrypted_payloads_exit_5()
    {
        var pushed = await _cli.RunWithInputAsync("secret", "push", "--encrypt");
        var url = pushed.StandardOutput.Trim();
        AssertOneLine(await _cli.RunAsync("pull", url[..url.IndexOf('#', StringComparison.Ordinal)]), 5, "#key=");
        AssertOneLine(await _cli.RunAsync("pull", url[..url.IndexOf('#', StringComparison.Ordinal)] + "#key=" + Fernet.GenerateKey()), 5, string.Empty);
    }

    [Fact]
    public async Task A_payload_over_the_limit_exits_6_and_missing_files_or_folders_exit_1()
    {
        var tooLarge = await _cli.RunWithInputAsync(new string('x', 5000), "push");
        AssertOneLine(tooLarge, 6, "too large");

        var missing = await _cli.RunAsync("push", "/nonexistent/review.md");
        AssertOneLine(missing, 1, "/nonexistent/review.md does not exist");

        var url = await PushAsync("to a folder");
        AssertOneLine(await _cli.RunAsync("pull", url, "-o", Path.GetTempPath()), 1, "is a folder: give -o the file to write");
        AssertOneLine(await _cli.RunAsync("pull", url, "-o", "/nonexistent/out.txt"), 1, "The folder /nonexistent does not exist");
    }

    [Fact]
    public async Task Empty_standard_input_for_push_or_publish_is_a_usage_error()
    {
        AssertOneLine(await _cli.RunWithInputAsync(string.Empty, "publish", "jobs", "-"), 2, "The message is empty");
        AssertOneLine(await _cli.RunWithInputAsync(string.Empty, "push"), 2, "Nothing to push: standard input is empty; give a FILE, or pipe the payload in");
        AssertOneLine(await _cli.RunWithInputAsync(string.Empty, "push", "-", "--encrypt"), 2, "standard input is empty");
    }

    [Fact]
    public async Task Over_the_request_rate_exits_6_saying_when_to_retry()
    {
        var cli = new CliTool(relay.BaseUrl, await relay.CreateKeyAsync("tiny-" + Guid.NewGuid().ToString("N")[..6], plan: "tiny"));
        var results = new List<CliResult>();
        await Wait.ForRoomInThisMinute(TimeSpan.FromSeconds(20)); // three tool runs in one minute of the rate
        for (var i = 0; i < 3; i++)
        {
            results.Add(await cli.RunAsync("history", "jobs"));
        }

        Assert.All(results.Take(2), r => Assert.Equal(0, r.ExitCode));
        AssertOneLine(results[2], 6, "Retry in ");
    }

    [Fact]
    public async Task A_bad_ttl_or_meta_is_a_usage_error()
    {
        AssertOneLine(await _cli.RunWithInputAsync("x", "push", "--ttl", "soon"), 2, "--ttl 'soon' is not a duration");
        AssertOneLine(await _cli.RunWithInputAsync("x", "push", "--meta", "novalue"), 2, "--meta 'novalue' is not KEY=VALUE");
    }
}
