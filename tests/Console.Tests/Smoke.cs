using Microsoft.Playwright;

namespace CtxRelay.Console.Tests;

public class Smoke
{
    [Fact]
    public async Task Starts()
    {
        using var pw = await Playwright.CreateAsync();
        await using var browser = await pw.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true });
        var page = await browser.NewPageAsync();
        await page.SetContentAsync("<p id=x>hi</p>");
        Assert.Equal("hi", await page.TextContentAsync("#x"));
    }
}
