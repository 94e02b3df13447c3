using CtxRelay.Samples;
using CtxRelay.Samples.BackgroundTasks;

// Background tasks over a queue group: the orchestrator fires tasks and returns at once; workers share
// them (each task goes to one worker, which acknowledges it only once its result is pushed, so a worker
// that dies mid-task loses nothing); a notifier waits for the results and matches them up by task_id.
//
//   dotnet run --project samples/BackgroundTasks -- fire --count 3          # prints the batch id
//   dotnet run --project samples/BackgroundTasks -- worker                  # as many as you like
//   dotnet run --project samples/BackgroundTasks -- notify --batch <id> --count 3
const string Usage = "usage: contextrelay-sample-bgtasks fire|worker|notify [options] (see samples/BackgroundTasks/README.md)";

return args.FirstOrDefault() switch
{
    "fire" => await SampleRun.RunAsync("fire", ct => Orchestrator.FireAsync(args[1..], ct)),
    "notify" => await SampleRun.RunAsync("notify", ct => Notifier.NotifyAsync(args[1..], ct)),
    "worker" => await TaskWorker.RunHostAsync(args[1..]),
    _ => Fail(Usage),
};

static int Fail(string usage)
{
    Console.Error.WriteLine(usage);
    return 2;
}
