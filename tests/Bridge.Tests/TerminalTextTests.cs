using CtxRelay.Bridge.Internal;

namespace CtxRelay.Bridge.Tests;

public sealed class TerminalTextTests
{
    [Fact]
    public void PlainText_PassesThrough()
        => Assert.Equal(["a", "b c", ""], TerminalText.Render("a\nb c\n"));

    [Fact]
    public void CarriageReturn_Overwrites_AndEraseInLineClears()
        => Assert.Equal(["done!"], TerminalText.Render("working 10%\rworking 90%\r\u001b[2Kdone!"));

    [Fact]
    public void CursorUpAndEraseDown_ReplaceTheRedrawnLines()
    {
        // An Ink-style live area of three lines, erased and drawn again in place.
        var text = "static\r\nspin 1\r\n\r\nprompt\r\u001b[2A\u001b[Jspin 2\r\n\r\nprompt";

        Assert.Equal(["static", "spin 2", "", "prompt"], TerminalText.Render(text));
    }

    [Fact]
    public void ColoursTitlesAndModes_AreRemoved()
        => Assert.Equal(["red bold link"], TerminalText.Render("\u001b]0;title\u0007\u001b[?2004h\u001b[31mred\u001b[0m \u001b[1mbold\u001b[22m \u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\"));

    [Fact]
    public void SurrogatePairs_StayWhole()
        => Assert.Equal(["ok 🎉 done"], TerminalText.Render("ok 🎉 xxxx\r\u001b[5Cdone"));
}
