namespace CtxRelay.Samples;

/// <summary>The frame every sample's <c>Main</c> runs in: Ctrl+C cancels, and errors are one line that says what to do.</summary>
public static class SampleRun
{
    /// <summary>Runs <paramref name="body"/>; returns its exit code, 1 on an error, 2 on a usage error, 130 on Ctrl+C.</summary>
    public static async Task<int> RunAsync(string sample, Func<CancellationToken, Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        try
        {
            return await body(cancel.Token).ConfigureAwait(false);
        }
        catch (SampleUsageException ex)
        {
            Console.Error.WriteLine($"{sample}: {ex.Message}");
            return 2;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine($"{sample}: cancelled.");
            return 130;
        }
        catch (Exception ex) when (Describe(ex) is { } line)
        {
            Console.Error.WriteLine($"{sample}: {line}");
            return 1;
        }
    }

    /// <summary>The one line to show for an error a user can fix, or null for a bug (which keeps its stack trace).</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        RelayAuthException ex => $"{Sentence(ex.Message)} Set CONTEXTRELAY_API_KEY to a key of this relay (the relay prints its dev key on first start).",
        RelayUnavailableException ex => $"{Sentence(ex.Message)} Is the relay running (dotnet run --project src/Relay) at CONTEXTRELAY_URL?",
        RelayException ex => ex.Message,
        HttpRequestException ex => $"{Sentence(ex.Message)} Is the relay running (dotnet run --project src/Relay) at CONTEXTRELAY_URL, and are the model's variables right?",
        ArgumentException ex when ex.ParamName == "value" => ex.Message.Replace(" (Parameter 'value')", string.Empty, StringComparison.Ordinal), // a malformed URL variable, named in the message
        SampleModelException ex => ex.Message,
        InvalidDataException ex => ex.Message, // a model's answer the sample cannot use; the message says what to try
        _ => null,
    };

    private static string Sentence(string message) => message.TrimEnd().TrimEnd('.') + ".";
}

/// <summary>A mistake in a sample's command line; shown as one line with exit code 2.</summary>
public sealed class SampleUsageException(string message) : Exception(message);
