using CtxRelay.Mcp.Internal;

namespace CtxRelay.Mcp.Tests;

/// <summary>Unit tests of how pull_context cuts a payload into pages.</summary>
public sealed class PagingTests
{
    [Fact]
    public void A_payload_that_fits_is_one_page_without_a_note()
    {
        var page = Paging.Slice("hello", 0, Paging.DefaultMaxChars);

        Assert.Equal(new Page(0, 5, 5), page);
        Assert.True(page.IsWhole);
        Assert.Null(Paging.Note(page));
    }

    [Fact]
    public void The_note_says_how_much_remains_and_where_to_continue()
    {
        var page = Paging.Slice(new string('a', 5_000_000), 0, Paging.DefaultMaxChars);

        Assert.Equal(new Page(0, 20_000, 5_000_000), page);
        Assert.Equal(
            "[… 4,980,000 more characters (this page: characters 0–20,000 of 5,000,000). "
            + "Call pull_context with offset=20000 to continue, or save_to=<path> to get it all at once.]",
            Paging.Note(page));
    }

    [Fact]
    public void The_last_page_says_it_is_the_end()
    {
        var page = Paging.Slice(new string('a', 25), 20, 10);

        Assert.Equal(new Page(20, 25, 25), page);
        Assert.Equal("[End of payload: this page was characters 20–25 of 25; nothing more to pull.]", Paging.Note(page));
    }

    [Fact]
    public void A_page_never_ends_between_the_halves_of_a_surrogate_pair()
    {
        var text = "abc😀def"; // 😀 is text[3..5]
        var page = Paging.Slice(text, 0, 4);

        Assert.Equal(3, page.End);
        Assert.Equal(3, Paging.Slice(text, page.End, 100).Start);
        Assert.Equal("😀def", text[3..]);
    }

    [Fact]
    public void An_offset_between_the_halves_of_a_pair_starts_at_the_pair()
    {
        var page = Paging.Slice("abc😀def", 4, 100);

        Assert.Equal(3, page.Start);
    }

    [Fact]
    public void A_one_character_page_on_a_pair_holds_the_whole_pair()
    {
        var page = Paging.Slice("😀😀", 0, 1);

        Assert.Equal(new Page(0, 2, 4), page);
    }

    [Fact]
    public void Following_the_notes_reassembles_any_text_exactly()
    {
        var text = TestText.Create(200_003, seed: 7);
        foreach (var size in new[] { 1, 2, 3, 997, 20_000 })
        {
            var parts = new List<string>();
            var offset = 0;
            while (true)
            {
                var page = Paging.Slice(text, offset, size);
                var part = text[page.Start..page.End];
                Assert.False(char.IsLowSurrogate(part[0]), "a page starts with half a pair");
                Assert.False(char.IsHighSurrogate(part[^1]), "a page ends with half a pair");
                parts.Add(part);
                if (page.Remaining == 0)
                {
                    break;
                }

                offset = page.End;
            }

            Assert.True(text == string.Concat(parts), $"pages of {size} did not reassemble the text");
        }
    }
}
