using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.Cli.Tests;

/// <summary>push, pull and peek through the built tool against a real relay.</summary>
public sealed class PayloadCommandTests(RelayFixture relay) : IClassFixture<RelayFixture>, IDisposable
{
    private readonly TemporaryDirectory _files = new("cli");
    private readonly CliTool _cli = CliTool.For(relay);

    private static string NewChannel() => "c-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _files.Dispose();

    private string WriteFile(string name, byte[] bytes)
    {
        var path = Path.Combine(_files.Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public async Task Push_prints_only_the_url_and_pull_prints_the_exact_bytes()
    {
        var text = "review ✓\r\nline two\n\n  trailing spaces  \n";
        var file = WriteFile("review.md", Encoding.UTF8.GetBytes(text));

        var pushed = await _cli.RunAsync("push", file);
        Assert.True(pushed.ExitCode == 0, pushed.ToString());
        var url = pushed.StandardOutput.TrimEnd('\n');
        Assert.Matches("^" + relay.BaseUrl + "/pull/[0-9a-f-]{36}$", url);
        Assert.Equal(string.Empty, pushed.StandardError);

        var pulled = await _cli.RunAsync("pull", url);
        Assert.True(pulled.ExitCode == 0, pulled.ToString());
        Assert.Equal(Encoding.UTF8.GetBytes(text), pulled.StandardOutputBytes);

        using var sdk = relay.CreateClient();
        Assert.Equal(text, await sdk.PullAsync(url));
    }

    [Fact]
    public async Task Piped_input_is_pushed_with_channel_metadata_summary_and_ttl_and_peek_shows_them()
    {
        var channel = NewChannel();
        var pushed = await _cli.RunWithInputAsync("from a pipe", "push", "--channel", channel, "--meta", "task_id=42", "-m", "pr=PR-441", "--summary", "the diff", "--ttl", "2h");
        Assert.True(pushed.ExitCode == 0, pushed.ToString());
        var url = pushed.StandardOutput.Trim();

        var peek = await _cli.RunAsync("peek", "--json", url);
        Assert.True(peek.ExitCode == 0, peek.ToString());
        var info = peek.Json();
        Assert.Equal(["id", "size", "channel", "encrypted", "created_at", "expires_at", "metadata"], info.Select(p => p.Key));
        Assert.Equal(url[(url.LastIndexOf('/') + 1)..], info["id"]!.GetValue<string>());
        Assert.Equal(11, info["size"]!.GetValue<long>());
        Assert.Equal(channel, info["channel"]!.GetValue<string>());
        Assert.False(info["encrypted"]!.GetValue<bool>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"task_id":"42","pr":"PR-441","summary":"the diff"}"""), info["metadata"]));
        var lifetime = DateTimeOffset.Parse(info["expires_at"]!.GetValue<string>()) - DateTimeOffset.Parse(info["created_at"]!.GetValue<string>());
        Assert.InRange(lifetime, TimeSpan.FromHours(1.99), TimeSpan.FromHours(2.01));

        var text = await _cli.RunAsync("peek", url);
        Assert.Contains($"channel    {channel}", text.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\"summary\":\"the diff\"", text.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("(in 1h 59m)", text.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\nsummary    the diff\n", text.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Push_json_has_a_stable_shape()
    {
        var channel = NewChannel();
        var file = WriteFile("small.txt", "12345"u8.ToArray());
        var pushed = await _cli.RunAsync("push", file, "--json", "--channel", channel, "--ttl", "600");
        Assert.True(pushed.ExitCode == 0, pushed.ToString());
        Assert.Single(pushed.StandardOutput.TrimEnd('\n').Split('\n'));
        var json = pushed.Json();
        Assert.Equal(["url", "id", "channel", "size", "encrypted", "expires_at"], json.Select(p => p.Key));
        Assert.EndsWith("/pull/" + json["id"]!.GetValue<string>(), json["url"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(channel, json["channel"]!.GetValue<string>());
        Assert.Equal(5, json["size"]!.GetValue<long>());
        Assert.False(json["encrypted"]!.GetValue<bool>());
        Assert.InRange(DateTimeOffset.Parse(json["expires_at"]!.GetValue<string>()) - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(9.5), TimeSpan.FromMinutes(10.1));

        var bare = await _cli.RunAsync("push", file, "--json");
        Assert.Null(bare.Json()["channel"]);
        Assert.True(bare.Json().ContainsKey("channel"));
    }

    [Fact]
    public async Task Encrypted_push_round_trips_and_the_relay_never_sees_the_text_or_the_key()
    {
        var secret = "the launch code is 0000 ✓";
        var pushed = await _cli.RunWithInputAsync(secret, "push", "-", "--encrypt", "--json");
        Assert.True(pushed.ExitCode == 0, pushed.ToString());
        var json = pushed.Json();
        var url = json["url"]!.GetValue<string>();
        Assert.Contains("#key=", url, StringComparison.Ordinal);
        Assert.True(json["encrypted"]!.GetValue<bool>());

        var pulled = await _cli.RunAsync("pull", url);
        Assert.True(pulled.ExitCode == 0, pulled.ToString());
        Assert.Equal(secret, pulled.StandardOutput);

        // What the relay holds is a Fernet token, not the text.
        using var http = relay.CreateHttpClient();
        var stored = await http.GetStringAsync("pull/" + json["id"]!.GetValue<string>());
        Assert.DoesNotContain("launch", stored, StringComparison.Ordinal);
        Assert.Equal(secret, Encoding.UTF8.GetString(Fernet.Decrypt(url[(url.IndexOf("#key=", StringComparison.Ordinal) + 5)..], stored)));

        var peek = await _cli.RunAsync("peek", "--json", url);
        Assert.True(peek.Json()["encrypted"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Pull_writes_a_file_with_o_and_replaces_an_existing_one()
    {
        var bytes = new byte[300_000];
        new Random(3).NextBytes(bytes);
        var url = (await _cli.RunAsync("push", WriteFile("in.bin", bytes), "--content-type", "application/octet-stream")).StandardOutput.Trim();
        var target = WriteFile("out.bin", "old content"u8.ToArray());

        var pulled = await _cli.RunAsync("pull", url, "-o", target);
        Assert.True(pulled.ExitCode == 0, pulled.ToString());
        Assert.Empty(pulled.StandardOutputBytes);
        Assert.Equal(bytes, File.ReadAllBytes(target));
        Assert.Equal(["in.bin", "out.bin"], Directory.GetFiles(_files.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Standard_input_redirected_from_a_file_and_a_pipeline_push_and_pull_byte_exact()
    {
        var bytes = new byte[2_000_000];
        new Random(11).NextBytes(bytes);
        WriteFile("redirected.bin", bytes);
        var result = await new CliTool(relay.BaseUrl, relay.ApiKey) { WorkingDirectory = _files.Path }.RunShellAsync("""
            set -e
            url=$(contextrelay push - < redirected.bin)
            contextrelay pull "$url" > copy.bin
            cat redirected.bin | contextrelay push --encrypt | xargs -I{} dotnet '{{TOOL}}' pull {} -o piped.bin
            """.Replace("{{TOOL}}", CliTool.ToolPath, StringComparison.Ordinal));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(_files.Path, "copy.bin")));
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(_files.Path, "piped.bin")));
    }

    [Fact]
    public async Task Delete_removes_a_payload_and_a_second_delete_exits_3()
    {
        var url = (await _cli.RunWithInputAsync("short-lived", "push")).StandardOutput.Trim();
        var deleted = await _cli.RunAsync("delete", url);
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Equal(3, (await _cli.RunAsync("pull", url)).ExitCode);
        Assert.Equal(3, (await _cli.RunAsync("delete", url)).ExitCode);
    }

    [Fact]
    public async Task A_25_MB_file_goes_through_push_from_stdin_and_pull_byte_exact_without_a_progress_bar_when_piped()
    {
        var bytes = new byte[25_000_000];
        new Random(25).NextBytes(bytes);
        var source = WriteFile("big.bin", bytes);
        await using var input = File.OpenRead(source);

        var pushed = await _cli.RunAsync(["push", "-", "--json", "--content-type", "application/octet-stream"], input, TimeSpan.FromMinutes(2));
        Assert.True(pushed.ExitCode == 0, pushed.ToString());
        Assert.Equal(string.Empty, pushed.StandardError); // stderr is a pipe here: no progress bar
        var json = pushed.Json();
        Assert.Equal(bytes.Length, json["size"]!.GetValue<long>());

        var target = Path.Combine(_files.Path, "big.copy");
        var pulled = await _cli.RunAsync(["pull", json["url"]!.GetValue<string>(), "-o", target], timeout: TimeSpan.FromMinutes(2));
        Assert.True(pulled.ExitCode == 0, pulled.ToString());
        Assert.Equal(string.Empty, pulled.StandardError);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(File.ReadAllBytes(target)));

        var toStdout = await _cli.RunAsync(["pull", json["id"]!.GetValue<string>()], timeout: TimeSpan.FromMinutes(2));
        Assert.Equal(bytes.Length, toStdout.StandardOutputBytes.Length);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(toStdout.StandardOutputBytes));
    }
}
