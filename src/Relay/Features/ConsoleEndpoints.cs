using System.Collections.Frozen;
using System.Text;

namespace CtxRelay.Relay.Features;

/// <summary>
/// GET /console: the web console, static files embedded in the relay (src/Relay/Console), anonymous because the
/// page holds no data: every call it makes carries the key the user signs in with, from the same origin.
/// </summary>
internal static class ConsoleEndpoints
{
    private const string ResourcePrefix = "console/";

    /// <summary>index.html names its assets relative to this base, rewritten to the prefix the page was asked under.</summary>
    private const string BaseTag = "<base href=\"/console/\">";

    private static readonly FrozenDictionary<string, ConsoleFile> Files = Load();

    public static void MapConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet("/console", (HttpContext http) => Index(http)).AllowAnonymous();
        app.MapGet("/console/{*file}", (HttpContext http, string? file) => string.IsNullOrEmpty(file) || file == "index.html"
            ? Index(http)
            : Files.TryGetValue(file, out var asset) ? Serve(http, asset.Bytes, asset.ContentType) : TypedResults.NotFound())
            .AllowAnonymous();
    }

    private static IResult Index(HttpContext http)
    {
        var index = Files["index.html"];
        var html = Encoding.UTF8.GetString(index.Bytes).Replace(BaseTag, $"<base href=\"{http.Request.PathBase}/console/\">", StringComparison.Ordinal);
        return Serve(http, Encoding.UTF8.GetBytes(html), index.ContentType);
    }

    private static IResult Serve(HttpContext http, byte[] bytes, string contentType)
    {
        var headers = http.Response.Headers;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'self'";
        return TypedResults.Bytes(bytes, contentType);
    }

    private static FrozenDictionary<string, ConsoleFile> Load()
    {
        var assembly = typeof(ConsoleEndpoints).Assembly;
        var files = new Dictionary<string, ConsoleFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[ResourcePrefix.Length..]] = new ConsoleFile(copy.ToArray(), ContentType(name));
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };

    private sealed record ConsoleFile(byte[] Bytes, string ContentType);
}
