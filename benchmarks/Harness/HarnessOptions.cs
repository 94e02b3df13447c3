namespace CtxRelay.Harness;

/// <summary>Command line: <c>[--quick] [--engine sqlite|redis|both] [--only pull,small,pubsub,memory,fernet]</c>.</summary>
internal sealed record HarnessOptions(bool Quick, IReadOnlyList<string> Engines, IReadOnlySet<string> Parts)
{
    public static readonly string[] AllParts = ["pull", "small", "pubsub", "memory", "fernet"];

    public const string Usage = "usage: dotnet run -c Release --project benchmarks/Harness [-- --quick] [--engine sqlite|redis|both] [--only pull,small,pubsub,memory,fernet]";

    /// <summary>Measured rounds per figure (alternating relay and reference); the figure is their median.</summary>
    public int Rounds => Quick ? 1 : 3;

    /// <summary>Length of one load round (wrk -d).</summary>
    public TimeSpan LoadDuration => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);

    public bool Runs(string part) => Parts.Contains(part);

    public static HarnessOptions Parse(string[] args)
    {
        var quick = false;
        string[] engines = ["sqlite"];
        var parts = new HashSet<string>(AllParts, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--engine" when i + 1 < args.Length:
                    engines = args[++i] switch
                    {
                        "sqlite" => ["sqlite"],
                        "redis" => ["redis"],
                        "both" => ["sqlite", "redis"],
                        var other => throw new ArgumentException($"unknown engine '{other}'\n{Usage}"),
                    };
                    break;
                case "--only" when i + 1 < args.Length:
                    parts = new HashSet<string>(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.OrdinalIgnoreCase);
                    if (parts.FirstOrDefault(part => !AllParts.Contains(part, StringComparer.OrdinalIgnoreCase)) is { } unknown)
                    {
                        throw new ArgumentException($"unknown part '{unknown}'\n{Usage}");
                    }

                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}'\n{Usage}");
            }
        }

        return new HarnessOptions(quick, engines, parts);
    }
}
