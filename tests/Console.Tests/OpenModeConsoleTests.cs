using Microsoft.Playwright;

namespace CtxRelay.Console.Tests;

/// <summary>On an open-mode relay (loopback, no keys) the console signs in without a key; elsewhere it asks for one.</summary>
public class OpenModeConsoleTests(OpenModeConsoleTests.OpenRelay relay) : IClassFixture<OpenModeConsoleTests.OpenRelay>
{
    [Fact]
    public async Task An_empty_key_signs_in_to_the_open_workspace_and_survives_a_reload()
    {
        var page = await relay.Browser.NewPageAsync();
        await page.GotoAsync(relay.BaseUrl + "/console");
        await page.ClickAsync("#sign-in button[type=submit]");

        await Assertions.Expect(page.Locator("#who")).ToHaveTextAsync("workspace open-console");
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#app")).ToBeVisibleAsync();
        Assert.DoesNotContain(relay.Requests, r => r.StartsWith("Authorization:", StringComparison.Ordinal));
    }

    public sealed class OpenRelay : ConsoleRelay
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            ["Relay:Open:Enabled"] = "true",
            ["Relay:Open:Workspace"] = "open-console",
        };
    }
}
