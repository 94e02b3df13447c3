using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace CtxRelay.Relay.Tests;

/// <summary>Raw-protocol helpers: what a curl user or the Python/JavaScript SDKs send.</summary>
internal static class Http
{
    public static async Task<JsonObject> PushJsonAsync(HttpClient http, object body)
    {
        using var response = await http.PostAsJsonAsync("push", body);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    public static async Task<HttpResponseMessage> PushRawAsync(HttpClient http, byte[] body, string query = "", string? metadata = null, string contentType = "text/plain")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "push" + query) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (metadata is not null)
        {
            request.Headers.Add("X-Relay-Metadata", metadata);
        }

        return await http.SendAsync(request);
    }

    public static async Task<JsonObject> ReadProblemAsync(HttpResponseMessage response, int status)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(status, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(problem["detail"]?.GetValue<string>()), "a problem must say what to do");
        Assert.DoesNotContain("   at ", problem.ToJsonString(), StringComparison.Ordinal); // never a stack trace
        return problem;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
