using StackExchange.Redis;

namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// The key layout under the configured prefix (<c>cr:</c> by default). Everything of one workspace shares
/// the hash tag <c>{workspace}</c>, so the Lua scripts that touch several of its keys stay in one slot.
/// <code>
/// cr:ws:{W}:p:&lt;id&gt;          hash   payload record (expires natively at ExpiresAt)
/// cr:ws:{W}:c:&lt;id&gt;:&lt;n&gt;      string chunk n of the payload's bytes (expires a little after the record)
/// cr:ws:{W}:exp             zset   payload id → ExpiresAt (unix ms), for sweeping and usage
/// cr:ws:{W}:sizes           hash   payload id → "size:chunks" of payloads not yet swept
/// cr:ws:{W}:bytes           string usage counter: bytes of payloads not yet swept
/// cr:ws:{W}:seq:&lt;channel&gt;   string last seq of the channel (never reset)
/// cr:ws:{W}:ev:&lt;channel&gt;    zset   retained events, score = seq, member = "seq:ts:json"; also the pub/sub channel
/// cr:ws:{W}:g:, gd:, gm:, gi:  queue groups (see RedisGroupScripts)
/// cr:workspaces, cr:channels  sets   what SweepAsync walks ("W\nchannel" for channels)
/// cr:keys:{k}:k:&lt;hash hex&gt;  hash   API key record
/// cr:keys:{k}:ids           hash   key id → hash hex
/// cr:keys:{k}:rev           string access revision: bumped by every revocation and plan change
/// cr:keys:{k}:plans         hash   workspace → plan
/// cr:usage:{W}:&lt;period&gt;    hash   meter → count (pushes, pulls, requests) of the period
/// cr:usage:&lt;period&gt;        set    the workspaces counted in the period
/// </code>
/// </summary>
internal sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    public RedisKey Workspaces { get; } = prefix + "workspaces";

    public RedisKey Channels { get; } = prefix + "channels";

    public RedisKey KeyIds { get; } = prefix + "keys:{k}:ids";

    public RedisKey AccessRevision { get; } = prefix + "keys:{k}:rev";

    public RedisKey Plans { get; } = prefix + "keys:{k}:plans";

    public RedisKey Usage(string workspace, string period) => $"{Prefix}usage:{{{workspace}}}:{period}";

    public RedisKey UsageWorkspaces(string period) => $"{Prefix}usage:{period}";

    /// <summary>The prefix of every key of the workspace (the Lua scripts append to it).</summary>
    public string WorkspacePrefix(string workspace) => $"{Prefix}ws:{{{workspace}}}:";

    public RedisKey Record(string workspace, string id) => WorkspacePrefix(workspace) + "p:" + id;

    public RedisKey Chunk(string workspace, string id, int index) => $"{WorkspacePrefix(workspace)}c:{id}:{index}";

    public RedisKey Expiries(string workspace) => WorkspacePrefix(workspace) + "exp";

    public RedisKey Sizes(string workspace) => WorkspacePrefix(workspace) + "sizes";

    public RedisKey Bytes(string workspace) => WorkspacePrefix(workspace) + "bytes";

    public RedisKey Seq(string workspace, string channel) => WorkspacePrefix(workspace) + "seq:" + channel;

    public RedisKey Events(string workspace, string channel) => WorkspacePrefix(workspace) + "ev:" + channel;

    public RedisChannel Live(string workspace, string channel) => RedisChannel.Literal(WorkspacePrefix(workspace) + "ev:" + channel);

    public RedisKey Key(byte[] hash) => Prefix + "keys:{k}:k:" + Convert.ToHexStringLower(hash);

    public RedisKey Key(string hashHex) => Prefix + "keys:{k}:k:" + hashHex;

    public static string ChannelEntry(string workspace, string channel) => workspace + "\n" + channel;
}
