using System.Buffers.Binary;

namespace Orion.Pmd.Virtio.VhostUser;

/// <summary>
/// The 12-byte vhost-user message header: request, flags (version 1 in bits 0-1, REPLY 0x4, NEED_REPLY 0x8) and the
/// size of the payload that follows. Little-endian, as on every host this runs on.
/// </summary>
/// <param name="Request">The request code.</param>
/// <param name="Flags">Version and reply bits.</param>
/// <param name="PayloadSize">Bytes of payload after the header.</param>
public readonly record struct VhostUserHeader(VhostUserRequest Request, uint Flags, uint PayloadSize)
{
    /// <summary>Bytes in the header.</summary>
    public const int Size = 12;
    /// <summary>Protocol version 1 (bits 0-1).</summary>
    public const uint FlagVersion1 = 0x1;
    /// <summary>The version mask.</summary>
    public const uint VersionMask = 0x3;
    /// <summary>Set on replies.</summary>
    public const uint FlagReply = 0x4;
    /// <summary>Asks for an acknowledgement (REPLY_ACK).</summary>
    public const uint FlagNeedReply = 0x8;

    /// <summary>A front-end request header.</summary>
    public static VhostUserHeader ForRequest(VhostUserRequest request, int payloadSize, bool needReply = false) =>
        new(request, FlagVersion1 | (needReply ? FlagNeedReply : 0), (uint)payloadSize);

    /// <summary>A back-end reply header.</summary>
    public static VhostUserHeader ForReply(VhostUserRequest request, int payloadSize) =>
        new(request, FlagVersion1 | FlagReply, (uint)payloadSize);

    /// <summary>Whether the version bits say 1.</summary>
    public bool HasValidVersion => (Flags & VersionMask) == FlagVersion1;
    /// <summary>Whether this is a reply. A reply to a request that carried NEED_REPLY may echo that bit (0xD): test bits, never compare to 0x5.</summary>
    public bool IsReply => (Flags & FlagReply) != 0;
    /// <summary>Whether the sender asked for an acknowledgement.</summary>
    public bool NeedsReply => (Flags & FlagNeedReply) != 0;

    /// <summary>Writes the header into the first 12 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)Request);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], PayloadSize);
    }

    /// <summary>Reads a header from the first 12 bytes of <paramref name="source"/>.</summary>
    public static VhostUserHeader Read(ReadOnlySpan<byte> source) => new(
        (VhostUserRequest)BinaryPrimitives.ReadUInt32LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[8..]));
}

/// <summary>Limits of one vhost-user message.</summary>
public static class VhostUserLimits
{
    /// <summary>
    /// The largest payload accepted: libvhost-user refuses anything bigger than its payload union (a config message
    /// with 256 bytes of data is the largest member at 268 bytes; 272 leaves its padding).
    /// </summary>
    public const int MaxPayloadBytes = 272;
    /// <summary>Descriptors per message (libvhost-user closes the connection at 9).</summary>
    public const int MaxFds = 8;
    /// <summary>Regions in one SET_MEM_TABLE.</summary>
    public const int MaxRegions = 8;
    /// <summary>Bytes of config data one GET_CONFIG / SET_CONFIG may carry.</summary>
    public const int MaxConfigBytes = 256;
    /// <summary>The virtio feature bit that announces protocol features (30).</summary>
    public const ulong ProtocolFeaturesBit = 1UL << 30;
}
