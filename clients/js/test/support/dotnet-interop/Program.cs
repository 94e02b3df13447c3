// dotnet DotnetInterop.dll push <baseUrl> <apiKey>   (text on stdin; prints the URL, encrypted)
// dotnet DotnetInterop.dll pull <baseUrl> <apiKey> <url>   (prints the text)
using System.Text;
using CtxRelay;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: DotnetInterop push|pull <baseUrl> <apiKey> [url]");
    return 2;
}

using var relay = new ContextRelay(args[2], args[1]);
var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
switch (args[0])
{
    case "push":
        using (var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false)))
        {
            var text = await stdin.ReadToEndAsync();
            await stdout.WriteAsync(await relay.PushAsync(text, encrypted: true));
        }

        return 0;
    case "pull":
        await stdout.WriteAsync(await relay.PullAsync(args[3]));
        return 0;
    default:
        Console.Error.WriteLine($"unknown command '{args[0]}'");
        return 2;
}
