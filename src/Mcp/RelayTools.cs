using CtxRelay.Extensions.AI;
using CtxRelay.Mcp.Internal;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace CtxRelay.Mcp;

/// <summary>
/// This server's tools are ContextRelay.Extensions.AI's <see cref="ContextRelayTools"/>, the same AIFunctions that
/// agent frameworks use, with MCP's titles and hints added. Here a failure becomes an <see cref="McpException"/>
/// (the MCP SDK returns its text as the tool result with <c>isError: true</c>), and wait_for_context's progress
/// becomes MCP progress notifications.
/// </summary>
internal static class RelayTools
{
    public const string ServerInstructions = ContextRelayTools.Instructions;

    /// <summary>The tools' options for this server: errors thrown (then translated), results as separate text blocks.</summary>
    public static ContextRelayToolsOptions Options(RelaySettings settings)
        => ContextRelayToolsOptions.Default with { ThrowOnError = true, ResultAsContentList = true, Setup = settings.Setup };

    /// <summary>Adds push_context, peek_context, pull_context and wait_for_context, built on the registered <see cref="ContextRelayTools"/>.</summary>
    public static IMcpServerBuilder WithRelayTools(this IMcpServerBuilder builder)
    {
        Add(builder, tools => tools.PushContext, () => new()
        {
            Title = "Push context to ContextRelay",
            Destructive = false,
            Idempotent = false,
            OpenWorld = true,
        });
        Add(builder, tools => tools.PeekContext, () => new()
        {
            Title = "Peek at a ContextRelay URL",
            ReadOnly = true,
            Idempotent = true,
            OpenWorld = true,
        });
        Add(builder, tools => tools.PullContext, () => new()
        {
            Title = "Pull context from ContextRelay",
            ReadOnly = false,
            Idempotent = true,
            OpenWorld = true,
        });
        Add(builder, tools => tools.WaitForContext, () => new()
        {
            Title = "Wait for a hand-off on a channel",
            ReadOnly = true,
            OpenWorld = true,
        });
        return builder;
    }

    private static void Add(IMcpServerBuilder builder, Func<ContextRelayTools, AIFunction> function, Func<McpServerToolCreateOptions> options)
        => builder.Services.AddSingleton(services => McpServerTool.Create(
            new McpToolFunction(function(services.GetRequiredService<ContextRelayTools>())), options()));

    private sealed class McpToolFunction(AIFunction inner) : DelegatingAIFunction(inner)
    {
        protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
        {
            // The MCP SDK hands a call's progress reporter (a no-op when the client sent no progress token) to the
            // function through the request's services.
            if (arguments.Services?.GetService(typeof(IProgress<ProgressNotificationValue>)) is IProgress<ProgressNotificationValue> progress)
            {
                arguments.Context ??= new Dictionary<object, object?>();
                arguments.Context[typeof(IProgress<WaitProgress>)] = new WaitProgressNotifications(progress);
            }

            try
            {
                return await base.InvokeCoreAsync(arguments, cancellationToken).ConfigureAwait(false);
            }
            catch (ContextRelayToolException ex)
            {
                throw new McpException(ex.Message, ex);
            }
        }
    }

    private sealed class WaitProgressNotifications(IProgress<ProgressNotificationValue> notifications) : IProgress<WaitProgress>
    {
        public void Report(WaitProgress value)
            => notifications.Report(new ProgressNotificationValue { Progress = (float)value.Seconds, Total = value.TimeoutSeconds, Message = value.Message });
    }
}
