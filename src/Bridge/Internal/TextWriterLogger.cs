using Microsoft.Extensions.Logging;

namespace CtxRelay.Bridge.Internal;

/// <summary>One line per message on a writer (the CLI's standard error), with a time and a level.</summary>
internal sealed class TextWriterLogger(TextWriter writer, LogLevel minimum) : ILogger
{
    private readonly Lock _gate = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var level = logLevel switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "error",
            _ => "crit",
        };
        lock (_gate)
        {
            writer.WriteLine($"{DateTime.Now:HH:mm:ss} {level}: {formatter(state, exception)}");
            writer.Flush();
        }
    }
}
