using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CtxRelay.Relay.Internal;

/// <summary>
/// The relay's own metrics and trace source (<c>ContextRelay.Relay</c>), exported with OpenTelemetry: to
/// Prometheus at <c>/metrics</c> when <c>Relay:Telemetry:Prometheus</c> is on, and over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. ASP.NET Core's request metrics and spans come with them.
/// </summary>
internal sealed class RelayTelemetry
{
    public const string Name = "ContextRelay.Relay";

    public static readonly ActivitySource Source = new(Name);

    public RelayTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        Pushes = meter.CreateCounter<long>("contextrelay.pushes", "{push}", "Payloads stored.");
        Pulls = meter.CreateCounter<long>("contextrelay.pulls", "{pull}", "Payloads served.");
        BytesIn = meter.CreateCounter<long>("contextrelay.payload.received", "By", "Payload bytes stored.");
        BytesOut = meter.CreateCounter<long>("contextrelay.payload.sent", "By", "Payload bytes served.");
        OpenWebSockets = meter.CreateUpDownCounter<long>("contextrelay.websockets.open", "{websocket}", "Subscriptions (WebSockets) open now.");
        EventsFannedOut = meter.CreateCounter<long>("contextrelay.events.delivered", "{event}", "Channel events handed to subscribers (one per subscriber).");
        Redeliveries = meter.CreateCounter<long>("contextrelay.group.redeliveries", "{event}", "Queue-group events handed out again after an ack timeout or a member leaving.");
        ClaimDelay = meter.CreateHistogram<double>("contextrelay.group.lag", "s", "Queue-group lag: time from an event's append to its hand-out to a member.");
        StorageDuration = meter.CreateHistogram<double>("contextrelay.storage.duration", "s", "Time of each storage operation.");
        AuthFailures = meter.CreateCounter<long>("contextrelay.auth.failures", "{request}", "Requests with a bad, revoked or expired API key.");
        QuotaRejections = meter.CreateCounter<long>("contextrelay.quota.rejections", "{request}", "Requests refused by a plan's quota or rate.");
    }

    public Counter<long> Pushes { get; }

    public Counter<long> Pulls { get; }

    public Counter<long> BytesIn { get; }

    public Counter<long> BytesOut { get; }

    public UpDownCounter<long> OpenWebSockets { get; }

    public Counter<long> EventsFannedOut { get; }

    public Counter<long> Redeliveries { get; }

    public Histogram<double> ClaimDelay { get; }

    public Histogram<double> StorageDuration { get; }

    public Counter<long> AuthFailures { get; }

    public Counter<long> QuotaRejections { get; }
}
