using Microsoft.Extensions.Logging;

namespace CtxRelay.Bridge.Internal;

/// <summary>The bridge's log messages. Task text and answers are never logged, only sizes and ids.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Bridge on {Pane}: tasks from '{TaskChannel}', results to '{DoneChannel}' on {Relay}")]
    public static partial void Started(ILogger logger, string pane, string taskChannel, string doneChannel, Uri relay);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Task {TaskId}: received ({Chars} chars)")]
    public static partial void TaskReceived(ILogger logger, string taskId, int chars);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Pane {Pane}: task typed ({Chars} chars) and submitted")]
    public static partial void Submitted(ILogger logger, string pane, int chars);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Task {TaskId}: {Status} after {Seconds:0.0} s ({Reason}); {Chars} chars pushed to '{DoneChannel}'")]
    public static partial void TaskFinished(ILogger logger, string taskId, string status, double seconds, string reason, int chars, string doneChannel);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Task {TaskId}: failed: {Reason}")]
    public static partial void TaskFailed(ILogger logger, string taskId, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Pane {Pane}: ignored a finish signal written before the task was submitted")]
    public static partial void StaleSignal(ILogger logger, string pane);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Pane {Pane}: the scrollback shifted (history limit reached); task start found again: {Found}")]
    public static partial void StartMoved(ILogger logger, string pane, bool found);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Task {TaskId}: pushing the result failed ({Reason}); retrying")]
    public static partial void PushRetry(ILogger logger, string taskId, string reason);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Bridge on {Pane} stopped")]
    public static partial void Stopped(ILogger logger, string pane);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Command started (pid {Pid}) with the task on its input ({Chars} chars)")]
    public static partial void CommandStarted(ILogger logger, int pid, int chars);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Task {TaskId}: the outcome's transcript could not be pushed ({Reason}); the result carries the whole answer instead")]
    public static partial void TranscriptFailed(ILogger logger, string taskId, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Announcing on '{Channel}' is off: {Reason}")]
    public static partial void AnnouncingOff(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Announcing on '{Channel}' failed ({Reason}); the bridge goes on and tries again with the next status or heartbeat")]
    public static partial void AnnounceFailed(ILogger logger, string channel, string reason);
}
