using CtxRelay.Samples;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CtxRelay.Samples.BackgroundTasks;

/// <summary>Where a worker takes tasks from and puts results; bound from the <c>Worker</c> section.</summary>
internal sealed class WorkerOptions
{
    public string TaskChannel { get; set; } = Channels.Tasks;

    public string DoneChannel { get; set; } = Channels.Done;

    public string Group { get; set; } = Channels.Group;

    /// <summary>How long a task "takes" on top of the model's answer (to watch redelivery: kill a worker mid-task).</summary>
    public TimeSpan WorkDelay { get; set; } = TimeSpan.Zero;

    /// <summary>How long the relay waits for this worker's ack before handing the task to another worker.</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// <c>worker</c>: a member of the queue group on the task channel. Each task is handed to one member; the
/// member pulls it, asks the model, pushes the result to the done channel and only then acknowledges it.
/// A worker killed before its ack loses nothing: the relay hands the task to another member.
/// </summary>
internal sealed partial class TaskWorker(
    ContextRelay relay,
    SampleModel model,
    IOptions<WorkerOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<TaskWorker> logger) : BackgroundService
{
    private const string Instructions = "You are a background worker. Do the task you are given and answer in one short paragraph.";

    public static async Task<int> RunHostAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
        {
            ["--tasks"] = "Worker:TaskChannel",
            ["--done"] = "Worker:DoneChannel",
            ["--group"] = "Worker:Group",
            ["--work-delay"] = "Worker:WorkDelay",
            ["--ack-timeout"] = "Worker:AckTimeout",
        });
        builder.Logging.ClearProviders().AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Error) // errors on stderr
            .AddFilter("System.Net.Http", LogLevel.Warning) // not a line per request
            .AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None); // start failures are reported below, in one line
        builder.Services.AddOptions<WorkerOptions>().BindConfiguration("Worker")
            .Validate(o => o.AckTimeout >= TimeSpan.FromSeconds(1) && o.AckTimeout <= TimeSpan.FromHours(1), "--ack-timeout must be between 00:00:01 and 01:00:00.")
            .ValidateOnStart();
        builder.Services.AddContextRelay(); // CONTEXTRELAY_URL / CONTEXTRELAY_API_KEY
        builder.Services.AddSingleton(_ => ChatModels.FromEnvironment(StandIn));
        builder.Services.AddHostedService<TaskWorker>();

        try
        {
            await builder.Build().RunAsync();
            return Environment.ExitCode;
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine($"worker: {ex.Message}");
            return 2;
        }
    }

    /// <summary>Answers deterministically, naming the task, so results can be matched to their tasks.</summary>
    public static readonly ScriptedChatClient StandIn = new("worker", task => $"done: {task.Trim()} ({task.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length} words)");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        try
        {
            var subscription = new SubscriptionOptions { Group = settings.Group, Since = 0, AckTimeout = settings.AckTimeout };
            await using var tasks = await relay.OpenSubscriptionAsync(settings.TaskChannel, subscription, stoppingToken);
            LogJoined(settings.Group, settings.TaskChannel, Environment.ProcessId, model.Name);
            await foreach (var task in tasks.ReadAllAsync(stoppingToken))
            {
                if (task.Type != RelayEventType.Push)
                {
                    await tasks.AckAsync(task); // a plain publish: nothing to do
                    continue;
                }

                var taskId = await ProcessAsync(task, settings, stoppingToken);
                await tasks.AckAsync(task); // only after the result is pushed: dying before this line means redelivery
                LogDone(taskId, settings.DoneChannel);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (SampleRun.Describe(ex) is { } line)
        {
            LogFailed(line);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    private async Task<string> ProcessAsync(RelayEvent task, WorkerOptions settings, CancellationToken cancellationToken)
    {
        var taskId = task.Metadata["task_id"]?.GetValue<string>() ?? task.Id!;
        LogTook(taskId, task.Deliveries);
        var job = await relay.PullAsync(task.Url!, cancellationToken: cancellationToken);
        if (settings.WorkDelay > TimeSpan.Zero)
        {
            await Task.Delay(settings.WorkDelay, cancellationToken);
        }

        var result = await model.AskAsync(Instructions, job, cancellationToken);
        await relay.PushAsync(result, settings.DoneChannel, metadata: new
        {
            task_id = taskId,
            batch = task.Metadata["batch"]?.GetValue<string>(),
            worker = Environment.ProcessId,
            deliveries = task.Deliveries,
        }, cancellationToken: cancellationToken);
        return taskId;
    }

    [LoggerMessage(1, LogLevel.Information, "worker {ProcessId} joined group '{Group}' on '{Channel}' (model: {Model})")]
    private partial void LogJoined(string group, string channel, int processId, string model);

    [LoggerMessage(2, LogLevel.Information, "took {TaskId} (delivery {Deliveries})")]
    private partial void LogTook(string taskId, int deliveries);

    [LoggerMessage(3, LogLevel.Information, "done {TaskId}: result pushed to '{Channel}', acknowledged")]
    private partial void LogDone(string taskId, string channel);

    [LoggerMessage(4, LogLevel.Error, "worker: {Problem}")]
    private partial void LogFailed(string problem);
}
