using System.Diagnostics;
using CtxRelay.Harness;

// Issue 9's harness: every figure next to a reference measured in the same run on this machine, the ratio,
// the issue's target and whether it is met — one markdown table on stdout, progress on stderr.
// Everything runs on loopback and is started here: the relay (its own process), nginx, a bare Kestrel
// endpoint, redis-server. Every load loop is bounded in count and time.
//   dotnet run -c Release --project benchmarks/Harness [-- --quick] [--engine sqlite|redis|both] [--only pull,small,pubsub,memory,fernet]
HarnessOptions options;
try
{
    options = HarnessOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

var report = new Report();
var elapsed = Stopwatch.StartNew();
var failed = false;
Log.Line($"{Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}; engines {string.Join(", ", options.Engines)}; parts {string.Join(", ", options.Parts)}{(options.Quick ? "; quick" : string.Empty)}");
foreach (var engine in options.Engines)
{
    await using var rig = await Rig.StartAsync(engine);
    foreach (var (part, run) in new (string, Func<Rig, Report, HarnessOptions, Task>)[]
    {
        ("pull", PullBench.RunAsync), ("small", SmallBench.RunAsync), ("pubsub", PubSubBench.RunAsync), ("memory", MemoryBench.RunAsync),
    })
    {
        if (!options.Runs(part))
        {
            continue;
        }

        try
        {
            await run(rig, report, options);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException or IOException or System.Net.WebSockets.WebSocketException)
        {
            failed = true;
            Log.Line($"{engine}: {part} failed: {ex}");
            report.Add(new Row(engine, part, "**failed**: " + ex.Message.Split('\n')[0], "—", null, "—", false));
        }
    }
}

if (options.Runs("fernet"))
{
    await FernetBench.RunAsync(report, options);
}

report.Print(Console.Out);
Log.Line($"done in {elapsed.Elapsed.TotalMinutes:0.0} min; load average now {File.ReadAllText("/proc/loadavg").Trim()}");
return failed ? 1 : 0;
