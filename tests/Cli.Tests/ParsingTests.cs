using CtxRelay.Cli.Internal;
using CtxRelay.Shared;

namespace CtxRelay.Cli.Tests;

/// <summary>The small parsers and sums behind --ttl, "did you mean" and the encrypted push's progress.</summary>
public sealed class ParsingTests
{
    [Theory]
    [InlineData("3600", 3600)]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("1h", 3600)]
    [InlineData("1h30m", 5400)]
    [InlineData("7d", 604800)]
    [InlineData(" 2H ", 7200)]
    public void Ttl_values_parse_as_seconds_or_units(string text, int seconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.5h")]
    [InlineData("h")]
    [InlineData("10y")]
    [InlineData("")]
    public void Other_ttl_values_are_refused(string text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData("subscirbe", "subscribe", 1)]
    [InlineData("pus", "push", 1)]
    [InlineData("--chanel", "--channel", 1)]
    [InlineData("push", "push", 0)]
    [InlineData("history", "peek", 7)]
    public void Did_you_mean_counts_a_swap_as_one_typo(string typed, string valid, int distance)
        => Assert.Equal(distance, UsageErrors.Distance(typed, valid));

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(1000)]
    [InlineData(6_000_000)]
    public void The_encrypted_push_progress_total_is_the_exact_token_length(int plainLength)
        => Assert.Equal(
            Fernet.Encrypt(Fernet.GenerateKey(), new byte[plainLength]).Length,
            ProgressBar.FernetTokenLength(plainLength));
}
