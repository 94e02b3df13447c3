using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using CtxRelay.Testing;

namespace CtxRelay.ClaudeCode.Tests.Support;

/// <summary>
/// The real Claude Code program (the pinned version installed by <c>install-claude-code.sh</c>) in a
/// sandbox of its own: a temporary HOME and <c>CLAUDE_CONFIG_DIR</c>, a project folder, the scripted
/// model as <c>ANTHROPIC_BASE_URL</c>, a dummy API key, and everything that would phone home turned off.
/// Its config is pre-seeded so no first-run dialog (onboarding, theme, API-key approval, folder trust)
/// blocks it.
/// </summary>
public sealed class ClaudeCodeSandbox : IDisposable
{
    public const string PinnedVersion = "2.1.331";

    /// <summary>A dummy key; Claude Code only ever sends it to the fake.</summary>
    public const string ApiKey = "sk-ant-api03-contextrelay-tests-dummy-key-0123456789abcdefghij";

    private const string InstallScript = "tests/ClaudeCode.Tests/install-claude-code.sh";

    private readonly TemporaryDirectory _root = new("claude-code");

    public ClaudeCodeSandbox(string apiBaseUrl)
    {
        ApiBaseUrl = apiBaseUrl;
        Directory.CreateDirectory(ConfigDirectory);
        Directory.CreateDirectory(ProjectDirectory);
        var config = new JsonObject
        {
            ["hasCompletedOnboarding"] = true, // no welcome screen, no theme picker, no connectivity check to api.anthropic.com
            ["lastOnboardingVersion"] = PinnedVersion,
            ["theme"] = "dark",
            ["customApiKeyResponses"] = new JsonObject { ["approved"] = new JsonArray(ApiKey[^20..]), ["rejected"] = new JsonArray() }, // "use this API key?"
            ["projects"] = new JsonObject
            {
                [ProjectDirectory] = new JsonObject { ["hasTrustDialogAccepted"] = true, ["hasCompletedProjectOnboarding"] = true, ["allowedTools"] = new JsonArray() }, // "do you trust this folder?"
            },
        };
        File.WriteAllText(Path.Combine(ConfigDirectory, ".claude.json"), config.ToJsonString());
    }

    public string ApiBaseUrl { get; }

    public string Root => _root.Path;

    public string Home => Path.Combine(Root, "home");

    public string ConfigDirectory => Path.Combine(Home, ".claude");

    /// <summary>The agent's working directory (where <c>.mcp.json</c> and <c>.claude/settings.json</c> go).</summary>
    public string ProjectDirectory => Path.Combine(Root, "project");

    /// <summary>The installed program: <c>$CLAUDE_CODE_BIN</c>, else <c>.tools/claude-code</c>. Fails (never skips) when missing.</summary>
    public static string Program
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("CLAUDE_CODE_BIN");
            var path = !string.IsNullOrEmpty(configured)
                ? configured
                : Path.Combine(RepositoryRoot, ".tools", "claude-code", "node_modules", ".bin", "claude");
            Assert.True(File.Exists(path), $"Claude Code is not installed at {path}. Run `bash {InstallScript}` (installs @anthropic-ai/claude-code@{PinnedVersion} into .tools/claude-code), or set CLAUDE_CODE_BIN to a claude binary.");
            return path;
        }
    }

    public static string RepositoryRoot => Metadata("RepositoryRoot");

    /// <summary>The built contextrelay-mcp.dll (run with <c>dotnet</c>).</summary>
    public static string McpServerPath => Metadata("McpServerPath");

    /// <summary>The dotnet host running these tests.</summary>
    public static string Dotnet
    {
        get
        {
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host))
            {
                return host;
            }

            var self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        }
    }

    /// <summary>
    /// Claude Code's whole environment (nothing inherited but PATH and the .NET host's location): the
    /// sandbox's HOME and config, the fake model, and no telemetry, error reports, update checks or
    /// other non-essential traffic.
    /// </summary>
    public Dictionary<string, string> BuildEnvironment(IDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = Home,
            ["CLAUDE_CONFIG_DIR"] = ConfigDirectory,
            ["TERM"] = "xterm-256color",
            ["LANG"] = "C.UTF-8",
            ["ANTHROPIC_BASE_URL"] = ApiBaseUrl,
            ["ANTHROPIC_API_KEY"] = ApiKey,
            ["DISABLE_TELEMETRY"] = "1",
            ["DISABLE_ERROR_REPORTING"] = "1",
            ["DISABLE_AUTOUPDATER"] = "1",
            ["DISABLE_BUG_COMMAND"] = "1",
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            // Without it a fresh config clones the official plugin marketplace from github.com in the
            // background (and looks up downloads.claude.ai) — harmless offline, but not loopback.
            ["CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL"] = "1",
            // MCP servers connect before the first model request instead of in the background, so the
            // first request already names their tools (deterministic under load; the dotnet server takes a moment).
            ["MCP_CONNECTION_NONBLOCKING"] = "0",
            ["CLAUDE_CODE_DISABLE_TERMINAL_TITLE"] = "1",
            ["NO_PROXY"] = "127.0.0.1,localhost",
        };
        foreach (var name in new[] { "DOTNET_ROOT", "DOTNET_HOST_PATH" })
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                environment[name] = value;
            }
        }

        foreach (var (name, value) in extra ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }

        return environment;
    }

    /// <summary>Writes <c>.mcp.json</c> in the project folder registering the built contextrelay-mcp as <c>contextrelay</c>.</summary>
    public string WriteMcpConfig(string relayUrl, string apiKey, string fileName = ".mcp.json")
    {
        var config = new JsonObject
        {
            ["mcpServers"] = new JsonObject
            {
                ["contextrelay"] = new JsonObject
                {
                    ["type"] = "stdio",
                    ["command"] = Dotnet,
                    ["args"] = new JsonArray(McpServerPath),
                    ["env"] = new JsonObject { ["CONTEXTRELAY_URL"] = relayUrl, ["CONTEXTRELAY_API_KEY"] = apiKey },
                },
            },
        };
        var path = Path.Combine(ProjectDirectory, fileName);
        File.WriteAllText(path, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>Writes the project's <c>.claude/settings.json</c>.</summary>
    public void WriteProjectSettings(JsonObject settings)
    {
        Directory.CreateDirectory(Path.Combine(ProjectDirectory, ".claude"));
        File.WriteAllText(Path.Combine(ProjectDirectory, ".claude", "settings.json"), settings.ToJsonString());
    }

    /// <summary>Runs <c>claude -p PROMPT args…</c> in the project folder; returns exit code, stdout and stderr.</summary>
    public async Task<(int ExitCode, string Output, string Error)> RunPrintAsync(string prompt, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Program)
        {
            WorkingDirectory = ProjectDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.Environment.Clear();
        foreach (var (name, value) in BuildEnvironment())
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add("-p");
        start.ArgumentList.Add(prompt);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// A shell script that starts the interactive program with exactly <see cref="BuildEnvironment"/> (plus
    /// tmux's <c>TMUX</c>/<c>TMUX_PANE</c>, which a Stop hook needs), for a tmux pane.
    /// </summary>
    public string WriteLauncher(IDictionary<string, string>? extra = null, IEnumerable<string>? args = null)
    {
        var script = new StringBuilder("#!/bin/sh\ncd ").Append(Quote(ProjectDirectory)).Append(" || exit 1\nexec env -i TMUX=\"$TMUX\" TMUX_PANE=\"$TMUX_PANE\"");
        foreach (var (name, value) in BuildEnvironment(extra))
        {
            script.Append(' ').Append(name).Append('=').Append(Quote(value));
        }

        script.Append(' ').Append(Quote(Program));
        foreach (var arg in args ?? [])
        {
            script.Append(' ').Append(Quote(arg));
        }

        script.Append('\n');
        var path = Path.Combine(Root, "claude.sh");
        File.WriteAllText(path, script.ToString());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return path;
    }

    public void Dispose() => _root.Dispose();

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Metadata(string key) => typeof(ClaudeCodeSandbox).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == key).Value!;
}
