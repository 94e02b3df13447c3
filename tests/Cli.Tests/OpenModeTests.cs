using CtxRelay.Testing;

namespace CtxRelay.Cli.Tests;

/// <summary>A relay in open mode (<c>serve --open</c>): key-less requests act in its open workspace.</summary>
public sealed class OpenRelayFixture : RelayFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Relay:Open:Enabled"] = "true" };
}

/// <summary>Without CONTEXTRELAY_API_KEY the tool still works against an open relay: the key is not demanded up front.</summary>
public sealed class OpenModeTests(OpenRelayFixture relay) : IClassFixture<OpenRelayFixture>
{
    [Fact]
    public async Task Push_and_pull_work_without_a_key_on_an_open_relay()
    {
        var cli = new CliTool(relay.BaseUrl, apiKey: null);
        var pushed = await cli.RunWithInputAsync("open hand-off", "push");
        Assert.True(pushed.ExitCode == 0, pushed.ToString());
        var pulled = await cli.RunAsync("pull", pushed.StandardOutput.Trim());
        Assert.Equal("open hand-off", pulled.StandardOutput);
    }
}
