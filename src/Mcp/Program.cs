using CtxRelay;
using CtxRelay.Extensions.AI;
using CtxRelay.Mcp;
using CtxRelay.Mcp.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

if (CommandLine.Handle(args, Console.Out, Console.Error) is { } exitCode)
{
    return exitCode;
}

// The content root is the tool's own folder, not the working directory (the user's project), so an
// appsettings.json there is never picked up. stdout carries the MCP protocol and nothing else: every log
// line goes to stderr.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

// A missing key or a malformed CONTEXTRELAY_URL must not stop the server: it starts, and each tool
// call answers with what to fix.
var settings = RelaySettings.FromEnvironment();
builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(_ => new ContextRelay(settings.Options));
builder.Services.AddSingleton(services => new ContextRelayTools(services.GetRequiredService<ContextRelay>(), RelayTools.Options(settings)));
builder.Services.AddSingleton(services => services.GetRequiredService<ContextRelayTools>().Reader);

builder.Services
    .AddMcpServer(o => o.ServerInstructions = RelayTools.ServerInstructions)
    .WithStdioServerTransport()
    .WithRelayTools()
    .WithResources<PayloadResources>();

await builder.Build().RunAsync();
return 0;
