using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CtxRelay.Bridge.Internal;

/// <summary>Claude Code's side of the finish signal: the Stop hook entry and the hook's JSON input.</summary>
internal static class ClaudeHooks
{
    /// <summary>
    /// Adds <c>{"type":"command","command":…}</c> under <c>hooks.Stop</c> in the project's
    /// <c>.claude/settings.json</c> (or <c>settings.local.json</c>), keeping everything else. Idempotent.
    /// </summary>
    /// <returns>The settings file, and whether it changed.</returns>
    public static (string Path, bool Changed) Install(string projectDirectory, string command, bool local = false)
    {
        var directory = Path.Combine(projectDirectory, ".claude");
        var path = Path.Combine(directory, local ? "settings.local.json" : "settings.json");
        JsonObject settings;
        if (File.Exists(path) && File.ReadAllText(path) is { Length: > 0 } text && !string.IsNullOrWhiteSpace(text))
        {
            try
            {
                settings = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                    ?? throw new BridgeException($"{path} does not hold a JSON object; fix or remove it, then run install-hook again.");
            }
            catch (JsonException ex)
            {
                throw new BridgeException($"{path} is not valid JSON ({ex.Message}); fix it, then run install-hook again.", ex);
            }
        }
        else
        {
            settings = [];
        }

        var hooks = settings["hooks"] as JsonObject;
        if (hooks is null)
        {
            hooks = [];
            settings["hooks"] = hooks;
        }

        var stop = hooks["Stop"] as JsonArray;
        if (stop is null)
        {
            stop = [];
            hooks["Stop"] = stop;
        }

        foreach (var group in stop.OfType<JsonObject>())
        {
            if (group["hooks"] is JsonArray entries
                && entries.OfType<JsonObject>().Any(e => e["command"]?.GetValueKind() == JsonValueKind.String && e["command"]!.GetValue<string>() == command))
            {
                return (path, false);
            }
        }

        stop.Add(new JsonObject
        {
            ["hooks"] = new JsonArray(new JsonObject { ["type"] = "command", ["command"] = command }),
        });
        Directory.CreateDirectory(directory);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", new UTF8Encoding(false));
        File.Move(temporary, path, overwrite: true);
        return (path, true);
    }

    /// <summary>
    /// The assistant's last message from a Stop hook input: <c>last_assistant_message</c> when present,
    /// else the text of the last assistant turn in the <c>transcript_path</c> JSONL; null when neither has it.
    /// </summary>
    public static string? LastAssistantMessage(string hookInput)
    {
        JsonObject? input;
        try
        {
            input = JsonNode.Parse(hookInput) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }

        if (input is null)
        {
            return null;
        }

        if (Text(input["last_assistant_message"]) is { } message && !string.IsNullOrWhiteSpace(message))
        {
            return message.Trim();
        }

        return Text(input["transcript_path"]) is { Length: > 0 } transcript && File.Exists(transcript)
            ? FromTranscript(transcript)
            : null;
    }

    /// <summary>The text blocks of the assistant entries after the last prompt the user typed.</summary>
    private static string? FromTranscript(string path)
    {
        var texts = new List<string>();
        foreach (var line in File.ReadLines(path))
        {
            JsonObject? entry;
            try
            {
                entry = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException)
            {
                continue;
            }

            var content = entry?["message"]?["content"];
            switch (Text(entry?["type"]))
            {
                case "user" when content is JsonValue || (content is JsonArray blocks && blocks.OfType<JsonObject>().Any(b => Text(b["type"]) == "text")):
                    texts.Clear(); // a new prompt (tool results come back as user entries too, without text)
                    break;
                case "assistant" when content is JsonArray blocks:
                    texts.AddRange(blocks.OfType<JsonObject>().Where(b => Text(b["type"]) == "text").Select(b => Text(b["text"])).OfType<string>());
                    break;
                default:
                    break;
            }
        }

        var joined = string.Join("\n\n", texts.Select(t => t.Trim()).Where(t => t.Length > 0));
        return joined.Length > 0 ? joined : null;
    }

    private static string? Text(JsonNode? node)
        => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
