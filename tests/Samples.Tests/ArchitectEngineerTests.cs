using System.Text.RegularExpressions;
using CtxRelay.Testing;

namespace CtxRelay.Samples.Tests;

/// <summary>samples/ArchitectEngineer: the architect pushes a design; the engineer pulls it and writes the code.</summary>
public sealed partial class ArchitectEngineerTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    private static readonly string Dll = SampleProcess.Locate("ArchitectEngineer", "contextrelay-sample-architect-engineer.dll");

    [Fact]
    public async Task TheEngineer_WritesTheClassThePulledDesignDescribes_AndHandsTheCodeBack()
    {
        using var output = new TemporaryDirectory("engineer");
        var channel = "designs-" + Guid.NewGuid().ToString("N")[..8];
        using var recorder = new RequestRecorder(relay);

        await using var sample = await SampleProcess.RunAsync(relay, Dll, ["--channel", channel, "--out", output.Path, "--feature", "an audit log exporter for workspaces"]);

        Assert.True(sample.ExitCode == 0, sample.Error);
        var pushes = await RelayState.PushesAsync(relay, channel);
        Assert.Equal(["design", "code"], pushes.Select(p => p.Meta("kind")));
        var (designPush, codePush) = (pushes[0], pushes[1]);
        Assert.Equal("Design: AuditLogExporterWorkspaces", designPush.Meta("title"));
        Assert.Equal((string)designPush["id"]!, codePush.Meta("design"));
        Assert.Contains($"GET /pull/{designPush["id"]}", recorder.Requests);

        // The file on disk is the code handed back, and it implements every member the design lists.
        var file = Path.Combine(output.Path, "src", "AuditLogExporterWorkspaces.cs");
        Assert.Equal("src/AuditLogExporterWorkspaces.cs", codePush.Meta("path"));
        using var client = relay.CreateClient();
        var code = await File.ReadAllTextAsync(file);
        Assert.Equal(await client.PullAsync((string)codePush["id"]!), code);
        var design = await client.PullAsync((string)designPush["id"]!);
        var signatures = SignaturePattern().Matches(design).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, signatures.Count);
        Assert.All(signatures, s => Assert.Contains($"    {s} => ", code, StringComparison.Ordinal));
        Assert.Contains("public sealed class AuditLogExporterWorkspaces", code, StringComparison.Ordinal);
        Assert.Contains($"engineer wrote {file} (", sample.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^- `(public [^`]+)`$", RegexOptions.Multiline)]
    private static partial Regex SignaturePattern();
}
