using System.Text.Json.Nodes;
using CtxRelay.Bridge.Internal;

namespace CtxRelay.Bridge.Tests;

public sealed class ClaudeHooksTests : IDisposable
{
    private readonly string _project = Path.Combine(Path.GetTempPath(), "crb-hooks", Guid.NewGuid().ToString("N"));

    public ClaudeHooksTests() => Directory.CreateDirectory(_project);

    public void Dispose() => Directory.Delete(_project, recursive: true);

    [Fact]
    public void Install_AddsAStopHook_KeepsOtherSettings_AndIsIdempotent()
    {
        Directory.CreateDirectory(Path.Combine(_project, ".claude"));
        var path = Path.Combine(_project, ".claude", "settings.json");
        File.WriteAllText(path, """
            {
              // comments are allowed in Claude Code settings
              "permissions": { "allow": ["Bash(npm test)"] },
              "hooks": { "PostToolUse": [ { "matcher": "Edit", "hooks": [ { "type": "command", "command": "prettier -w ." } ] } ] }
            }
            """);

        var first = ClaudeHooks.Install(_project, "contextrelay-bridge signal-done");
        var second = ClaudeHooks.Install(_project, "contextrelay-bridge signal-done");

        Assert.True(first.Changed);
        Assert.False(second.Changed);
        var settings = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal("Bash(npm test)", settings["permissions"]!["allow"]![0]!.GetValue<string>());
        Assert.Equal("prettier -w .", settings["hooks"]!["PostToolUse"]![0]!["hooks"]![0]!["command"]!.GetValue<string>());
        var stop = settings["hooks"]!["Stop"]!.AsArray();
        var hook = Assert.Single(stop)!["hooks"]![0]!;
        Assert.Equal("command", hook["type"]!.GetValue<string>());
        Assert.Equal("contextrelay-bridge signal-done", hook["command"]!.GetValue<string>());
    }

    [Fact]
    public void Install_Local_WritesSettingsLocalJson()
    {
        var (path, changed) = ClaudeHooks.Install(_project, "x signal-done", local: true);

        Assert.True(changed);
        Assert.EndsWith(Path.Combine(".claude", "settings.local.json"), path, StringComparison.Ordinal);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Install_OnBrokenJson_SaysWhichFileToFix()
    {
        Directory.CreateDirectory(Path.Combine(_project, ".claude"));
        File.WriteAllText(Path.Combine(_project, ".claude", "settings.json"), "{ \"hooks\": ");

        var error = Assert.Throws<BridgeException>(() => ClaudeHooks.Install(_project, "x signal-done"));

        Assert.Contains("settings.json is not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HookInput_WithLastAssistantMessage_GivesIt()
        => Assert.Equal("All done.", ClaudeHooks.LastAssistantMessage("""{"hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"All done.\n"}"""));

    [Fact]
    public void HookInput_WithOnlyATranscript_GivesTheLastTurnsText()
    {
        var transcript = Path.Combine(_project, "t.jsonl");
        File.WriteAllLines(transcript,
        [
            """{"type":"user","message":{"role":"user","content":"first task"}}""",
            """{"type":"assistant","message":{"content":[{"type":"text","text":"old answer"}]}}""",
            """{"type":"user","message":{"role":"user","content":"second task"}}""",
            """{"type":"assistant","message":{"content":[{"type":"text","text":"Looking."},{"type":"tool_use","name":"Read","input":{}}]}}""",
            """{"type":"user","message":{"content":[{"type":"tool_result","content":"file text"}]}}""",
            """{"type":"assistant","message":{"content":[{"type":"text","text":"Fixed it."}]}}""",
        ]);

        var message = ClaudeHooks.LastAssistantMessage($$"""{"hook_event_name":"Stop","transcript_path":"{{transcript}}"}""");

        Assert.Equal("Looking.\n\nFixed it.", message);
    }

    [Fact]
    public void HookInput_WithoutEither_GivesNull()
        => Assert.Null(ClaudeHooks.LastAssistantMessage("""{"hook_event_name":"Stop","transcript_path":"/nonexistent.jsonl"}"""));
}
