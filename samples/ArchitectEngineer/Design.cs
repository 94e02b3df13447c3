using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace CtxRelay.Samples.ArchitectEngineer;

/// <summary>What the two models are asked, and their scripted stand-ins.</summary>
internal static partial class Design
{
    public const string ArchitectInstructions = """
        You are a software architect. Write a short design document in Markdown for the feature you are given.
        The first line is `# Design: <title>`. Include a line `Class: `<C# class name>`` and a section `## Interface`
        listing each public member's C# signature as `- `<signature>``.
        """;

    public const string EngineerInstructions = """
        You are a C# engineer. Implement the design document you are given as one C# file.
        Reply with `FILE: <relative path>` on the first line, then the complete file content, and nothing else.
        """;

    /// <summary>A design whose class name comes from the feature's words, with two members.</summary>
    public static readonly ScriptedChatClient StandInArchitect = new("architect", feature =>
    {
        var name = ClassName(feature);
        return $"""
            # Design: {name}

            Feature: {feature.Trim()}
            Class: `{name}`

            ## Responsibilities
            - Own the behaviour described by the feature; keep no static state.
            - Report what it does through `Describe()`.

            ## Interface
            - `public string Describe()`
            - `public Task RunAsync(CancellationToken cancellationToken)`
            """;
    });

    /// <summary>Writes the class the design names, with one member per signature the design lists.</summary>
    public static readonly ScriptedChatClient StandInEngineer = new("engineer", design =>
    {
        var name = ClassLine().Match(design) is { Success: true } m ? m.Groups[1].Value : "Feature";
        var feature = FeatureLine().Match(design) is { Success: true } f ? f.Groups[1].Value.Trim() : name;
        var code = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"FILE: src/{name}.cs\n")
            .Append("namespace Generated;\n\n")
            .Append(CultureInfo.InvariantCulture, $"/// <summary>{feature}</summary>\n")
            .Append(CultureInfo.InvariantCulture, $"public sealed class {name}\n{{\n");
        foreach (Match member in SignatureLine().Matches(design))
        {
            var signature = member.Groups[1].Value;
            var body = signature.StartsWith("public string ", StringComparison.Ordinal) ? $"\"{feature.Replace("\"", "'", StringComparison.Ordinal)}\""
                : signature.StartsWith("public Task ", StringComparison.Ordinal) ? "Task.CompletedTask"
                : "throw new NotImplementedException()";
            code.Append(CultureInfo.InvariantCulture, $"    {signature} => {body};\n");
        }

        return code.Append("}\n").ToString();
    });

    private static string ClassName(string feature)
    {
        var words = WordPattern().Matches(feature).Select(w => w.Value)
            .Where(w => w.Length > 1 && !StopWords.Contains(w.ToLowerInvariant()))
            .Take(4)
            .Select(w => char.ToUpperInvariant(w[0]) + w[1..].ToLowerInvariant());
        var name = string.Concat(words);
        return name.Length > 0 ? name : "Feature";
    }

    private static readonly HashSet<string> StopWords = ["an", "the", "for", "of", "to", "and", "with", "in", "on"];

    [GeneratedRegex("[A-Za-z]+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"^Class:\s*`([A-Za-z_][A-Za-z0-9_]*)`", RegexOptions.Multiline)]
    private static partial Regex ClassLine();

    [GeneratedRegex(@"^Feature:\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex FeatureLine();

    [GeneratedRegex(@"^\s*-\s*`(public [^`]+)`\s*$", RegexOptions.Multiline)]
    private static partial Regex SignatureLine();
}

/// <summary>The engineer's answer: a relative path and the file's content.</summary>
internal sealed record CodeFile(string Path, string Content)
{
    public static CodeFile Parse(string answer)
    {
        var lines = answer.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Where(l => !l.TrimStart().StartsWith("```", StringComparison.Ordinal)).ToList();
        var header = lines.FindIndex(l => l.StartsWith("FILE:", StringComparison.OrdinalIgnoreCase));
        if (header < 0)
        {
            throw new InvalidDataException("The engineer's model did not start its answer with 'FILE: <path>'; run again or try a stronger model (OPENAI_MODEL / ANTHROPIC_MODEL).");
        }

        var path = lines[header][5..].Trim().Trim('`');
        return new CodeFile(path, string.Join('\n', lines.Skip(header + 1)).Trim() + "\n");
    }

    /// <summary>Writes the file under <paramref name="directory"/> (never outside it) and returns its full path.</summary>
    public async Task<string> SaveUnderAsync(string directory, CancellationToken cancellationToken)
    {
        var target = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, Path));
        if (!target.StartsWith(directory + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            target = System.IO.Path.Combine(directory, System.IO.Path.GetFileName(Path)); // a path escaping --out keeps only its name
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        await File.WriteAllTextAsync(target, Content, cancellationToken);
        return target;
    }
}
