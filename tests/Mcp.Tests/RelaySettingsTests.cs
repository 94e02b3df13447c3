using CtxRelay.Mcp.Internal;

namespace CtxRelay.Mcp.Tests;

public sealed class RelaySettingsTests
{
    [Fact]
    public void Defaults_to_the_local_relay_and_no_key()
    {
        var settings = RelaySettings.From(url: null, apiKey: " ");

        Assert.Null(settings.ConfigurationError);
        Assert.Equal(new Uri(ContextRelayOptions.DefaultBaseUrl), settings.Options.BaseUrl);
        Assert.False(settings.HasApiKey);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("localhost:8787")]
    [InlineData("ftp://relay.example")]
    public void A_malformed_url_is_reported_instead_of_thrown(string url)
    {
        var settings = RelaySettings.From(url, "cr_live_x");

        Assert.NotNull(settings.ConfigurationError);
        Assert.Contains("CONTEXTRELAY_URL", settings.ConfigurationError);
        Assert.Contains(url, settings.ConfigurationError);
    }

    [Fact]
    public void Takes_the_url_and_key_as_given()
    {
        var settings = RelaySettings.From("https://relay.example:8443/base/", "cr_live_abc");

        Assert.Null(settings.ConfigurationError);
        Assert.Equal("https://relay.example:8443/base/", settings.Options.BaseUrl.ToString());
        Assert.Equal("cr_live_abc", settings.Options.ApiKey);
    }

    [Theory]
    [InlineData("http://r/pull/abc#key=k", true)]
    [InlineData("http://r/pull/abc#x=1&key=k", true)]
    [InlineData("http://r/pull/abc#key=", false)]
    [InlineData("http://r/pull/abc", false)]
    [InlineData("abc", false)]
    public void Knows_whether_a_url_carries_a_key(string url, bool hasKey)
        => Assert.Equal(hasKey, PayloadReader.HasKey(url));
}
