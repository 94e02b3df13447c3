using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Auth;

/// <summary>A key as the relay applies it: its record and the plan its workspace is on.</summary>
internal sealed class KeyGrant(ApiKeyRecord record, string plan)
{
    private ClaimsPrincipal? _principal;

    public ApiKeyRecord Record { get; } = record;

    public string Plan { get; } = plan;

    /// <summary>
    /// The caller's claims, built on first use and shared by every request this cached grant serves
    /// (10,000 WebSockets of one key hold one principal, not 10,000). Nothing changes a principal after
    /// authentication; a revocation or plan change drops the grant from the cache, and with it the principal.
    /// </summary>
    public ClaimsPrincipal Principal => _principal ??= ApiKeyAuthentication.CreatePrincipal(this);
}

/// <summary>
/// Verified keys, cached briefly (<c>Relay:KeyCacheDuration</c>), and the WebSockets open under each key.
/// Every relay checks the store's access revision every <c>Relay:AccessCheckInterval</c>: when a key was
/// revoked or a plan changed anywhere, the cache is dropped at once and the revoked keys' WebSockets are
/// closed (4401); WebSockets of keys that expire are closed when they expire.
/// </summary>
internal sealed class AccessControl : PeriodicService
{
    /// <summary>WebSocket close code for a key that was revoked or expired while the socket was open.</summary>
    public const int KeyRevokedCloseStatus = 4401;

    /// <summary>WebSocket close code (Service Restart) when the relay stops: the client reconnects, to another relay.</summary>
    public const int RestartCloseStatus = 1012;

    public const string RestartReason = "relay restarting; reconnect (with since=) to continue";

    private readonly IRelayStore _store;
    private readonly IOptions<RelayOptions> _options;
    private readonly ILogger<AccessControl> _logger;

    private readonly RelayTelemetry _telemetry;

    public AccessControl(IRelayStore store, IOptions<RelayOptions> options, TimeProvider clock, ILogger<AccessControl> logger, IHostApplicationLifetime lifetime, RelayTelemetry telemetry)
        : base(clock)
    {
        _telemetry = telemetry;
        _store = store;
        _options = options;
        _logger = logger;

        // Graceful stop: every WebSocket gets a close frame saying to reconnect before the relay goes away.
        lifetime.ApplicationStopping.Register(() =>
        {
            foreach (var session in _sessions.Keys)
            {
                _ = session.EndAsync(RestartReason, RestartCloseStatus);
            }
        });
    }

    private readonly ConcurrentDictionary<string, (KeyGrant Grant, long Generation, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Session, byte> _sessions = new();
    private readonly ConcurrentDictionary<string, int> _perKey = new(StringComparer.Ordinal);
    private long _generation;
    private long? _revision;

    /// <summary>The key whose SHA-256 is <paramref name="hash"/>, revoked or not, with its workspace's plan; null when unknown.</summary>
    public async Task<KeyGrant?> FindAsync(byte[] hash, CancellationToken cancellationToken)
    {
        var relay = _options.Value;
        var cacheKey = Convert.ToHexString(hash);
        var generation = Interlocked.Read(ref _generation);
        var now = Clock.GetUtcNow();
        if (_cache.TryGetValue(cacheKey, out var cached) && cached.Generation == generation && cached.Until > now)
        {
            return cached.Grant;
        }

        var record = await _store.FindKeyAsync(hash, cancellationToken).ConfigureAwait(false);
        if (record is null || !CryptographicOperations.FixedTimeEquals(record.Hash, hash))
        {
            return null;
        }

        var workspacePlan = await _store.GetWorkspacePlanAsync(record.Workspace, cancellationToken).ConfigureAwait(false);
        var grant = new KeyGrant(record, relay.PlanName(workspacePlan ?? record.Plan));
        if (relay.KeyCacheDuration > TimeSpan.Zero)
        {
            _cache[cacheKey] = (grant, generation, now + relay.KeyCacheDuration);
        }

        return grant;
    }

    /// <summary>
    /// Opens a WebSocket session of <paramref name="caller"/>, or returns null when its key holds
    /// <c>Relay:MaxWebSocketsPerKey</c> sessions on this relay already. Once the socket is accepted,
    /// <see cref="Session.Attach"/> it: when the key is revoked or expires, the socket is closed with
    /// <see cref="KeyRevokedCloseStatus"/> and the reason, and the session ends.
    /// </summary>
    public Session? TryOpen(Caller caller)
    {
        var holder = caller.KeyHash ?? caller.KeyId;
        if (_perKey.AddOrUpdate(holder, 1, static (_, count) => count + 1) > _options.Value.MaxWebSocketsPerKey)
        {
            Release(holder);
            return null;
        }

        var session = new Session(this, caller, holder);
        _sessions.TryAdd(session, 0);
        _telemetry.OpenWebSockets.Add(1);
        return session;
    }

    private void Release(string holder)
    {
        if (_perKey.AddOrUpdate(holder, 0, static (_, count) => count - 1) <= 0)
        {
            _perKey.TryRemove(new KeyValuePair<string, int>(holder, 0));
        }
    }

    protected override TimeSpan Interval => _options.Value.AccessCheckInterval;

    protected override Task TickAsync(CancellationToken cancellationToken) => CheckAsync(cancellationToken);

    // A failed check (storage down, a busy database) is retried at the next tick.
    protected override void OnTickFailed(Exception exception) => Log.AccessCheckFailed(_logger, exception.Message);

    /// <summary>One check: drop the cache and re-verify open sessions when the revision moved; end expired sessions.</summary>
    internal async Task CheckAsync(CancellationToken cancellationToken)
    {
        var revision = await _store.GetAccessRevisionAsync(cancellationToken).ConfigureAwait(false);
        var changed = _revision != revision; // the first check knows no baseline: it re-verifies what is open
        _revision = revision;
        if (changed)
        {
            Interlocked.Increment(ref _generation);
        }

        var now = Clock.GetUtcNow();
        foreach (var keyed in _sessions.Keys.Where(s => s.Caller.KeyHash is not null).GroupBy(s => s.Caller.KeyHash!, StringComparer.Ordinal))
        {
            if (keyed.First().Caller.ExpiresAt is { } expires && expires <= now)
            {
                End(keyed, "API key expired; use another key");
                continue;
            }

            if (changed && await _store.FindKeyAsync(Convert.FromHexString(keyed.Key), cancellationToken).ConfigureAwait(false) is not { RevokedAt: null })
            {
                End(keyed, "API key revoked; use another key");
            }
        }
    }

    private static void End(IEnumerable<Session> sessions, string reason)
    {
        foreach (var session in sessions)
        {
            _ = session.EndAsync(reason);
        }
    }

    /// <summary>One open WebSocket under a key. Dispose when the socket ends.</summary>
    internal sealed class Session(AccessControl owner, Caller caller, string holder) : IDisposable
    {
        private string? _endReason;
        private System.Net.WebSockets.WebSocket? _socket;
        private CancellationTokenSource? _close;
        private int _disposed;

        public Caller Caller { get; } = caller;

        /// <summary>Why the relay ended the session (key revoked or expired), or null.</summary>
        public string? EndReason => Volatile.Read(ref _endReason);

        /// <summary>
        /// Sends the close frame and lets the client answer it (cancelling a pending receive at once would
        /// abort the socket, and the client would see a reset instead of the reason).
        /// </summary>
        public async Task EndAsync(string reason, int status = KeyRevokedCloseStatus)
        {
            if (Interlocked.CompareExchange(ref _endReason, reason, null) is not null || Volatile.Read(ref _socket) is not { } socket || _close is not { } close)
            {
                return; // a session not attached yet is ended by Attach
            }

            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.CloseOutputAsync((System.Net.WebSockets.WebSocketCloseStatus)status, reason, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                // Already closing or gone: ending the session is all that is left.
            }

            try
            {
                // The client answers the close and the session ends by itself; a client that does not is cut off.
                close.CancelAfter(Features.ChannelEndpoints.CloseAnswerWait);
            }
            catch (ObjectDisposedException)
            {
            }
        }

        /// <summary>The socket is open: from now on, ending the session closes it.</summary>
        public void Attach(System.Net.WebSockets.WebSocket socket, CancellationTokenSource close)
        {
            _close = close;
            Volatile.Write(ref _socket, socket);
            if (EndReason is { } reason)
            {
                _endReason = null;
                _ = EndAsync(reason, reason == RestartReason ? RestartCloseStatus : KeyRevokedCloseStatus);
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner._sessions.TryRemove(this, out _);
                owner.Release(holder);
                owner._telemetry.OpenWebSockets.Add(-1);
            }
        }
    }
}
