using System.Collections;
using System.Reflection;
using Microsoft.Extensions.AI;

namespace CtxRelay.Extensions.AI;

/// <summary>
/// ContextRelay's agent tools as <see cref="AIFunction"/>s: <c>push_context</c>, <c>peek_context</c>,
/// <c>pull_context</c> and <c>wait_for_context</c>. Give them to any <see cref="IChatClient"/> pipeline
/// (<c>new ChatOptions { Tools = [.. tools] }</c>), a Microsoft Agent Framework agent, or a Semantic Kernel kernel
/// (<c>kernel.Plugins.AddFromFunctions("relay", tools.Select(t => t.AsKernelFunction()))</c>); the ContextRelay MCP
/// server exposes the same functions. Large payloads come back page by page; failures come back as text the model
/// can act on.
/// </summary>
public sealed class ContextRelayTools : IReadOnlyList<AIFunction>
{
    public const string PushContextName = "push_context";
    public const string PeekContextName = "peek_context";
    public const string PullContextName = "pull_context";
    public const string WaitForContextName = "wait_for_context";

    /// <summary>What an agent should know to use the tools well; add it to its instructions (system prompt).</summary>
    public const string Instructions =
        "ContextRelay hands large context between agents by URL. To give another agent a lot of text (files, logs, diffs, "
        + "findings), call push_context and hand on the URL it returns instead of pasting the text. When you receive a "
        + "ContextRelay URL, call peek_context first to see what it is and how big, then pull_context. Always pass URLs "
        + "whole, including any #key=… fragment: it holds the decryption key.";

    private readonly AIFunction[] _all;

    /// <summary>Creates the four tools over <paramref name="relay"/>.</summary>
    /// <exception cref="ArgumentException">The bound channel is empty or longer than 200 characters.</exception>
    public ContextRelayTools(ContextRelay relay, ContextRelayToolsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(relay);
        Options = options ?? ContextRelayToolsOptions.Default;
        var channel = Options.Channel?.Trim();
        if (channel is { Length: 0 or > RelayToolFunctions.MaxChannelLength })
        {
            throw new ArgumentException(
                $"The bound channel must be 1 to {RelayToolFunctions.MaxChannelLength} characters; leave Channel null to let the model choose.",
                nameof(options));
        }

        var errors = new ToolErrors(relay.Options, Options.Setup);
        Reader = new PayloadReader(relay, errors, new PayloadCache());
        var functions = new RelayToolFunctions(relay, errors, Reader);

        PushContext = Create(functions, nameof(RelayToolFunctions.PushContextAsync), PushContextName, channel,
            c => $" Every push goes to channel '{c}', where the agents you work with wait for it.");
        PeekContext = Create(functions, nameof(RelayToolFunctions.PeekContextAsync), PeekContextName, channel: null, note: null);
        PullContext = Create(functions, nameof(RelayToolFunctions.PullContextAsync), PullContextName, channel: null, note: null);
        WaitForContext = Create(functions, nameof(RelayToolFunctions.WaitForContextAsync), WaitForContextName, channel,
            c => $" This tool waits on channel '{c}'.");
        _all = [PushContext, PeekContext, PullContext, WaitForContext];
    }

    public ContextRelayToolsOptions Options { get; }

    /// <summary>The channel the tools are bound to, or null.</summary>
    public string? Channel => Options.Channel?.Trim();

    public AIFunction PushContext { get; }

    public AIFunction PeekContext { get; }

    public AIFunction PullContext { get; }

    public AIFunction WaitForContext { get; }

    public int Count => _all.Length;

    /// <summary>Reads payloads with the same cache as pull_context (the MCP server's resources use it).</summary>
    internal PayloadReader Reader { get; }

    public AIFunction this[int index] => _all[index];

    public IEnumerator<AIFunction> GetEnumerator() => ((IEnumerable<AIFunction>)_all).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private AIFunction Create(RelayToolFunctions target, string method, string name, string? channel, Func<string, string>? note)
    {
        var info = typeof(RelayToolFunctions).GetMethod(method)!;
        var description = info.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>()!.Description;
        var asContent = Options.ResultAsContentList;
        var function = AIFunctionFactory.Create(info, target, new AIFunctionFactoryOptions
        {
            Name = name,
            Description = channel is not null && note is not null ? description + note(channel) : description,
            SerializerOptions = AIJsonUtilities.DefaultOptions,
            ExcludeResultSchema = true,
            MarshalResult = (result, _, _) => new ValueTask<object?>(result is not ToolOutput output
                ? result
                : asContent ? output.Parts.Select(p => (AIContent)new TextContent(p)).ToList() : output.ToString()),
            ConfigureParameterBinding = parameter => Bind(parameter, channel),
        });
        return Options.ThrowOnError ? function : new ErrorsAsResult(function);
    }

    private static AIFunctionFactoryOptions.ParameterBindingOptions Bind(ParameterInfo parameter, string? channel)
    {
        if (parameter.ParameterType == typeof(IProgress<WaitProgress>))
        {
            // Not the model's to set: a host that can show progress (the MCP server) passes it in the call's context.
            return new()
            {
                ExcludeFromSchema = true,
                BindParameter = static (p, arguments) =>
                    arguments.Context is { } context && context.TryGetValue(typeof(IProgress<WaitProgress>), out var progress) ? progress : null,
            };
        }

        if (channel is not null && parameter.Name == "channel")
        {
            return new() { ExcludeFromSchema = true, BindParameter = (_, _) => channel };
        }

        return default;
    }

    /// <summary>
    /// Returns a failed call's explanation as the result instead of throwing, so chat pipelines hand it to the
    /// model (which can then fix its arguments or tell the user) rather than a bare "function failed".
    /// </summary>
    private sealed class ErrorsAsResult(AIFunction inner) : DelegatingAIFunction(inner)
    {
        protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
        {
            try
            {
                return await base.InvokeCoreAsync(arguments, cancellationToken).ConfigureAwait(false);
            }
            catch (ContextRelayToolException ex)
            {
                return ex.Message;
            }
            catch (Exception ex) when (ex is ArgumentException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
            {
                // The arguments did not fit the schema (a missing required value, a string where a number belongs).
                return $"{Name} was called with arguments it cannot use: {ex.Message} Call it again with the parameters its description lists.";
            }
        }
    }
}
