using System.Diagnostics;
using CtxRelay.Testing;

namespace CtxRelay.Sdk.Tests;

/// <summary>The samples run as a user runs them, against a real relay.</summary>
public sealed class SampleTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task The_handoff_sample_moves_its_payload_from_agent_a_to_agent_b()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "contextrelay-sample-handoff.dll"));
        start.Environment["CONTEXTRELAY_URL"] = relay.BaseUrl;
        start.Environment["CONTEXTRELAY_API_KEY"] = relay.ApiKey;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));

        Assert.True(process.ExitCode == 0, await stderr);
        var output = await stdout;
        Assert.Contains("agent B pulled 2,228,893 chars; identical: True", output, StringComparison.Ordinal);
    }
}
