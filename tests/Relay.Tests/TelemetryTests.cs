using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using CtxRelay.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// OpenTelemetry: the Prometheus scrape endpoint with the relay's metrics (a relay process of its own: meters
/// are process-wide), and spans for storage under requests.
/// </summary>
public sealed partial class TelemetryTests
{
    [Fact]
    public async Task Metrics_count_pushes_pulls_bytes_websockets_deliveries_and_storage_time()
    {
        using var data = new TemporaryDirectory("metrics");
        var key = "cr_live_" + Guid.NewGuid().ToString("N") + "Metrics1";
        await using var relay = await RelayProcess.StartAsync(data.Path, RelayProcess.FreePort(), key, new Dictionary<string, string> { ["Relay__Telemetry__Prometheus"] = "true" });
        using var http = new HttpClient { BaseAddress = new Uri(relay.BaseUrl + "/") };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        using var anonymous = new HttpClient { BaseAddress = new Uri(relay.BaseUrl + "/") };
        var before = await ScrapeAsync(anonymous);
        var channel = "metrics-" + Guid.NewGuid().ToString("N")[..6];
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + key);
        await socket.ConnectAsync(new Uri(relay.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws/" + channel), CancellationToken.None);

        var id = (await Http.PushJsonAsync(http, new { data = new string('m', 2048), channel }))["id"]!.GetValue<string>();
        await http.GetStringAsync($"pull/{id}");
        var frame = new byte[8192];
        await socket.ReceiveAsync(frame, CancellationToken.None); // delivered

        var after = await ScrapeAsync(anonymous);
        for (var i = 0; i < 100 && Value(after, "contextrelay_pulls_total") <= Value(before, "contextrelay_pulls_total"); i++)
        {
            await Task.Delay(100); // the exporter caches a scrape for a moment
            after = await ScrapeAsync(anonymous);
        }

        Assert.True(Value(after, "contextrelay_pulls_total") > Value(before, "contextrelay_pulls_total"), before + "\n----\n" + after);
        Assert.True(Value(after, "contextrelay_pushes_total") >= Value(before, "contextrelay_pushes_total") + 1, after);
        Assert.True(Value(after, "contextrelay_payload_received_bytes_total") >= Value(before, "contextrelay_payload_received_bytes_total") + 2048, after);
        Assert.True(Value(after, "contextrelay_payload_sent_bytes_total") >= Value(before, "contextrelay_payload_sent_bytes_total") + 2048, after);
        Assert.True(Value(after, "contextrelay_events_delivered_total") >= Value(before, "contextrelay_events_delivered_total") + 1, after);
        Assert.True(Value(after, "contextrelay_websockets_open") >= 1, after);
        Assert.True(Value(after, "contextrelay_storage_duration_seconds_count", "operation=\"save_payload\"") >= 1, after);
        Assert.Contains("http_server_request_duration_seconds", after, StringComparison.Ordinal); // ASP.NET Core's own

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        await Wait.Until(async () => Value(await ScrapeAsync(anonymous), "contextrelay_websockets_open") < Value(after, "contextrelay_websockets_open"), "the socket to be counted as closed");
    }

    [Fact]
    public async Task Without_prometheus_enabled_there_is_no_metrics_endpoint()
    {
        using var data = new TemporaryDirectory("nometrics");
        await using var plain = await RelayServer.StartAsync(new Dictionary<string, string?> { ["Relay:DataDirectory"] = data.Path, ["Logging:LogLevel:Default"] = "Warning" });
        using var http = new HttpClient { BaseAddress = plain.BaseUrl };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("metrics")).StatusCode);
    }

    [Fact]
    public async Task Storage_operations_are_spans_under_the_request_span()
    {
        var spans = new SpanCollection();
        using var data = new TemporaryDirectory("traces");
        await using var traced = await RelayServer.StartAsync(
            new Dictionary<string, string?> { ["Relay:DataDirectory"] = data.Path, ["Logging:LogLevel:Default"] = "Warning" },
            builder => builder.Services.AddOpenTelemetry().WithTracing(t => t.AddSource("ContextRelay.Relay").AddAspNetCoreInstrumentation().AddInMemoryExporter(spans)));
        using var http = new HttpClient { BaseAddress = traced.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", await traced.CreateKeyAsync("traced"));
        await Http.PushJsonAsync(http, new { data = "traced", channel = "t" });

        // Activity sources are process-wide: other relays of this test run add their spans too, so this relay's
        // request is picked by its port, and the storage span by that request.
        Activity? save = null;
        Activity? request = null;
        await Wait.Until(
            () =>
            {
                var all = spans.Snapshot();
                var ours = all.Where(p => Equals(p.GetTagItem("server.port"), traced.BaseUrl.Port)).Select(p => p.SpanId).ToHashSet();
                save = all.FirstOrDefault(s => s.DisplayName == "store save_payload" && ours.Contains(s.ParentSpanId));
                request = save is null ? null : all.First(p => p.SpanId == save.ParentSpanId);
                return Task.FromResult(save is not null);
            },
            "the storage span under its request");
        Assert.Equal("POST /push", request!.DisplayName);
        Assert.Equal("sqlite", save!.GetTagItem("db.system"));
    }

    /// <summary>
    /// The exporter's destination: it adds from the threads that end spans (every relay of the test run, since
    /// activity sources are process-wide) while the test reads, so both sides take one lock (a plain list
    /// copied during an add threw "Destination array was not long enough").
    /// </summary>
    private sealed class SpanCollection : ICollection<Activity>
    {
        private readonly List<Activity> _spans = [];

        public int Count
        {
            get
            {
                lock (_spans)
                {
                    return _spans.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public void Add(Activity item)
        {
            lock (_spans)
            {
                _spans.Add(item);
            }
        }

        public List<Activity> Snapshot()
        {
            lock (_spans)
            {
                return [.. _spans];
            }
        }

        public void Clear()
        {
            lock (_spans)
            {
                _spans.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_spans)
            {
                return _spans.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private static async Task<string> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The sum of a metric's samples (optionally only those whose labels contain <paramref name="label"/>); 0 when absent.</summary>
    private static double Value(string scrape, string metric, string? label = null)
        => scrape.Split('\n')
            .Where(line => line.StartsWith(metric, StringComparison.Ordinal) && (line.Length == metric.Length || line[metric.Length] is ' ' or '{'))
            .Where(line => label is null || line.Contains(label, StringComparison.Ordinal))
            .Select(line => Sample().Match(line))
            .Where(match => match.Success)
            .Sum(match => double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"\s([-+0-9.eE]+)(\s+\d+)?$")]
    private static partial Regex Sample();
}
