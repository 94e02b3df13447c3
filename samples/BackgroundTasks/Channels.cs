namespace CtxRelay.Samples.BackgroundTasks;

/// <summary>The defaults every role agrees on.</summary>
internal static class Channels
{
    public const string Tasks = "bg-tasks";

    public const string Done = "bg-done";

    public const string Group = "bg-workers";
}
