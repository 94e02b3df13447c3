using System.Security.Cryptography;
using CtxRelay.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CtxRelay.Sdk.Tests;

/// <summary>The SDK as an application wires it: dependency injection, streaming to a file.</summary>
public sealed class HostingTests(RelayFixture relay) : IClassFixture<RelayFixture>
{
    [Fact]
    public async Task AddContextRelay_registers_a_working_client_on_a_factory_http_client()
    {
        var services = new ServiceCollection();
        services.AddContextRelay(o => o with { BaseUrl = new Uri(relay.BaseUrl), ApiKey = relay.ApiKey });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<ContextRelay>();
        Assert.Equal(new Uri(relay.BaseUrl), client.Options.BaseUrl);
        var url = await client.PushAsync("through DI", metadata: new { via = "AddContextRelay" });
        Assert.Equal("through DI", await provider.GetRequiredService<ContextRelay>().PullAsync(url));
    }

    [Fact]
    public async Task PullToStreamAsync_writes_the_exact_bytes_plain_and_decrypted()
    {
        using var client = relay.CreateClient();
        var text = Convert.ToBase64String(RandomNumberGenerator.GetBytes(2_000_000));
        var plainUrl = await client.PushAsync(text);
        var secretUrl = await client.PushAsync(text, encrypted: true);
        var expected = System.Text.Encoding.UTF8.GetBytes(text);

        foreach (var url in new[] { plainUrl, secretUrl })
        {
            var path = Path.GetTempFileName();
            try
            {
                await using (var file = File.Create(path))
                {
                    Assert.Equal(expected.Length, await client.PullToStreamAsync(url, file));
                }

                Assert.Equal(expected, await File.ReadAllBytesAsync(path));
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
