using System.ComponentModel.DataAnnotations;

namespace CtxRelay.Relay;

/// <summary>The relay's settings, bound from the <c>Relay</c> configuration section.</summary>
public sealed class RelayOptions
{
    public const string Section = "Relay";
    public const long DefaultMaxPayloadBytes = 25L * 1024 * 1024;

    /// <summary>Where the embedded engine keeps its database. Default: <c>~/.contextrelay/data</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".contextrelay", "data");

    /// <summary>Largest payload accepted, in bytes (25 MiB). A plan may lower it.</summary>
    [Range(1, long.MaxValue)]
    public long MaxPayloadBytes { get; set; } = DefaultMaxPayloadBytes;

    /// <summary>Largest metadata object, in bytes of JSON.</summary>
    [Range(2, 1024 * 1024)]
    public int MaxMetadataBytes { get; set; } = 16 * 1024;

    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromHours(24);

    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often expired payloads and old channel events are deleted.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Events kept per channel for replay (<c>?since=</c>).</summary>
    [Range(1, int.MaxValue)]
    public int ChannelRetentionEvents { get; set; } = 1000;

    public TimeSpan ChannelRetentionAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Reverse proxies whose <c>X-Forwarded-For</c>, <c>-Proto</c>, <c>-Host</c> and <c>-Prefix</c> headers are believed:
    /// addresses or networks (<c>10.0.0.5</c>, <c>10.0.0.0/8</c>, <c>::1</c>). Empty (the default): those headers are
    /// ignored, so no client can fake its address or the URLs the relay hands out.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Origin used in returned URLs instead of the one the client called (behind a proxy).</summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>
    /// A path prefix every route also answers under (e.g. <c>/relay</c> behind a proxy that forwards
    /// <c>/relay/…</c> unchanged). Routes always answer at the root and under <c>/v1</c> too.
    /// </summary>
    public string? PathBase { get; set; }

    /// <summary>How long a verified key is trusted before it is looked up again (revocation delay).</summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Interval of WebSocket keep-alive pings.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Events buffered per subscriber; a subscriber further behind is disconnected (it resumes with since=).</summary>
    [Range(1, 1_000_000)]
    public int SubscriberBuffer { get; set; } = 1024;

    /// <summary>
    /// User-Agent prefixes of clients that unwrap the hosted relay's <c>{"data", "metadata"}</c> pull answer
    /// (the hosted product's Python SDK sends <c>python-requests/…</c>). Envelope-shaped payloads pushed as a
    /// raw body are served to them in the envelope, so they get back exactly what was pushed. Configured
    /// entries are added to the default.
    /// </summary>
    public List<string> EnvelopeUserAgents { get; set; } = ["python-requests/"];

    /// <summary>Metrics and traces (OpenTelemetry).</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Open mode, for clients that never send a key (off unless enabled).</summary>
    public OpenModeOptions Open { get; set; } = new();

    /// <summary>
    /// Plans by name: the hosted product's <c>free</c>, <c>pro</c> and <c>team</c>, and <c>unlimited</c>. Configured
    /// entries add plans or change these (<c>Relay:Plans:free:MonthlyPushes=2000</c>).
    /// </summary>
    public Dictionary<string, PlanOptions> Plans { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["free"] = new PlanOptions { MonthlyPushes = 1_000, MonthlyPulls = 10_000, RequestsPerMinute = 60, MaxTtl = TimeSpan.FromHours(24), MaxStoredBytes = 100L * 1024 * 1024 },
        ["pro"] = new PlanOptions { MonthlyPushes = 100_000, MonthlyPulls = 1_000_000, RequestsPerMinute = 600, MaxTtl = TimeSpan.FromHours(24), MaxStoredBytes = 10L * 1024 * 1024 * 1024 },
        ["team"] = new PlanOptions { MonthlyPushes = 1_000_000, MonthlyPulls = 10_000_000, RequestsPerMinute = 6_000, MaxTtl = TimeSpan.FromHours(24), MaxStoredBytes = 100L * 1024 * 1024 * 1024 },
        [UnlimitedPlan] = new PlanOptions(),
    };

    public const string UnlimitedPlan = "unlimited";

    /// <summary>The plan of workspaces that were given none (self-hosting: <c>unlimited</c>).</summary>
    [Required]
    public string DefaultPlan { get; set; } = UnlimitedPlan;

    /// <summary>The plan's name as the relay applies it: <c>default</c>, empty and unknown names mean <see cref="DefaultPlan"/>.</summary>
    public string PlanName(string? name)
        => !string.IsNullOrEmpty(name) && Plans.ContainsKey(name) ? name : DefaultPlan;

    public PlanOptions GetPlan(string? name)
        => Plans.TryGetValue(PlanName(name), out var plan) ? plan : new PlanOptions();

    /// <summary>
    /// On SIGTERM the relay stops accepting, tells WebSocket clients to reconnect elsewhere (1012), lets in-flight
    /// requests finish, and exits after at most this long.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>One Information line per request (method, path, status, bytes, time, workspace); false turns it off.</summary>
    public bool AccessLog { get; set; } = true;

    /// <summary>How long a client may take to send a request's headers (slowloris); then the connection is closed.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Slowest upload accepted, in bytes per second, after <see cref="UploadGracePeriod"/>; a slower (slow-drip)
    /// upload is cut off with 408 and nothing is stored.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int MinUploadBytesPerSecond { get; set; } = 240;

    public TimeSpan UploadGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bad API keys one client address may present per minute before its keyed requests answer 429; 0 = no limit.</summary>
    [Range(0, int.MaxValue)]
    public int FailedAuthLimit { get; set; } = 30;

    /// <summary>WebSockets one API key may hold open on one relay; more are refused with 429.</summary>
    [Range(1, int.MaxValue)]
    public int MaxWebSocketsPerKey { get; set; } = 1000;

    /// <summary>How often every relay checks for revoked keys and plan changes (and closes revoked keys' WebSockets).</summary>
    public TimeSpan AccessCheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Open mode (<c>serve --open</c>): requests without an <c>Authorization</c> header act in one workspace, as
/// the hosted relay does when it runs without a key store — for the hosted product's clients that never
/// send a key. A key that is sent is still checked.
/// </summary>
public sealed class OpenModeOptions
{
    public bool Enabled { get; set; }

    /// <summary>The workspace key-less requests act in (default <c>dev</c>, the workspace of the first start's key).</summary>
    [Required]
    public string Workspace { get; set; } = "dev";

    public string Plan { get; set; } = "default";

    /// <summary>Without it, open mode refuses to listen on anything but loopback addresses.</summary>
    public bool AllowRemote { get; set; }
}

/// <summary>
/// OpenTelemetry exporters: a Prometheus scrape endpoint at <c>/metrics</c> (off unless enabled; unauthenticated, so
/// expose it only where the scraper is), and OTLP whenever the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public sealed class TelemetryOptions
{
    public bool Prometheus { get; set; }
}

/// <summary>Limits of a workspace plan; null (or 0 for the rate) means no limit.</summary>
public sealed class PlanOptions
{
    /// <summary>Pushes and publishes per calendar month (UTC).</summary>
    public long? MonthlyPushes { get; set; }

    /// <summary>Pulls of a payload per calendar month (UTC); peeks, HEADs and subscriptions are not counted.</summary>
    public long? MonthlyPulls { get; set; }

    /// <summary>Requests per minute per workspace, counted together by every relay sharing the store; 0 = unlimited.</summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>Longest time to live a push may ask for (lower than the relay's <c>MaxTtl</c>), or null.</summary>
    public TimeSpan? MaxTtl { get; set; }

    /// <summary>Lower payload limit than the relay's, or null.</summary>
    public long? MaxPayloadBytes { get; set; }

    /// <summary>Bytes of live payloads a workspace may hold; null = unlimited.</summary>
    public long? MaxStoredBytes { get; set; }
}

/// <summary>Which storage engine, bound from the <c>Storage</c> section.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>sqlite</c> (default, embedded) or <c>redis</c>.</summary>
    public string Engine { get; set; } = "sqlite";

    /// <summary>StackExchange.Redis configuration string, for the redis engine.</summary>
    public string? Redis { get; set; }

    /// <summary>
    /// Largest size of the embedded engine's database, in bytes (null: as large as the disk allows). A push that
    /// would grow it beyond answers 507, like a full disk.
    /// </summary>
    public long? SqliteMaxBytes { get; set; }

    /// <summary>Key prefix in Redis, so several relay deployments can share one server.</summary>
    public string RedisPrefix { get; set; } = "cr:";
}
