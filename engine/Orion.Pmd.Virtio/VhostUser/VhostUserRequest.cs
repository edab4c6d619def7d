namespace Orion.Pmd.Virtio.VhostUser;

/// <summary>Front-end to back-end request codes of the vhost-user protocol (QEMU <c>docs/interop/vhost-user.rst</c>).</summary>
public enum VhostUserRequest : uint
{
    /// <summary>Not a request; qemu-storage-daemon treats it as a disconnect, so it is never sent.</summary>
    None = 0,
    /// <summary>Reply: u64 virtio features offered (plus bit 30, protocol features).</summary>
    GetFeatures = 1,
    /// <summary>u64 features accepted.</summary>
    SetFeatures = 2,
    /// <summary>Claims the back-end for this connection.</summary>
    SetOwner = 3,
    /// <summary>Deprecated reset.</summary>
    ResetOwner = 4,
    /// <summary>Memory table with one fd per region.</summary>
    SetMemTable = 5,
    /// <summary>Dirty-log area (migration).</summary>
    SetLogBase = 6,
    /// <summary>Dirty-log eventfd (migration).</summary>
    SetLogFd = 7,
    /// <summary>Vring state: queue size.</summary>
    SetVringNum = 8,
    /// <summary>Vring addresses (user addresses).</summary>
    SetVringAddr = 9,
    /// <summary>Vring state: where the back-end starts reading the ring.</summary>
    SetVringBase = 10,
    /// <summary>Stops a ring; reply: vring state with the back-end's position.</summary>
    GetVringBase = 11,
    /// <summary>Kick eventfd (driver to device); starts the ring.</summary>
    SetVringKick = 12,
    /// <summary>Call eventfd (device to driver).</summary>
    SetVringCall = 13,
    /// <summary>Error eventfd.</summary>
    SetVringErr = 14,
    /// <summary>Reply: u64 protocol features offered.</summary>
    GetProtocolFeatures = 15,
    /// <summary>u64 protocol features accepted.</summary>
    SetProtocolFeatures = 16,
    /// <summary>Reply: u64 number of queues.</summary>
    GetQueueNum = 17,
    /// <summary>Vring state: 1 enables the ring, 0 disables it.</summary>
    SetVringEnable = 18,
    /// <summary>Network only.</summary>
    SendRarp = 19,
    /// <summary>Network only.</summary>
    NetSetMtu = 20,
    /// <summary>Back-end request channel fd.</summary>
    SetSlaveReqFd = 21,
    /// <summary>IOTLB message.</summary>
    IotlbMsg = 22,
    /// <summary>Legacy endianness.</summary>
    SetVringEndian = 23,
    /// <summary>Reads device config space; reply carries the data.</summary>
    GetConfig = 24,
    /// <summary>Writes device config space.</summary>
    SetConfig = 25,
    /// <summary>Crypto only.</summary>
    CreateCryptoSession = 26,
    /// <summary>Crypto only.</summary>
    CloseCryptoSession = 27,
    /// <summary>Postcopy migration.</summary>
    PostcopyAdvise = 28,
    /// <summary>Postcopy migration.</summary>
    PostcopyListen = 29,
    /// <summary>Postcopy migration.</summary>
    PostcopyEnd = 30,
    /// <summary>Inflight-tracking area; reply carries an fd.</summary>
    GetInflightFd = 31,
    /// <summary>Inflight-tracking area.</summary>
    SetInflightFd = 32,
    /// <summary>GPU only.</summary>
    GpuSetSocket = 33,
    /// <summary>Resets the device.</summary>
    ResetDevice = 34,
    /// <summary>In-band kick (vring state: index).</summary>
    VringKick = 35,
    /// <summary>Reply: u64 memory slots supported.</summary>
    GetMaxMemSlots = 36,
    /// <summary>Adds one memory region (one fd).</summary>
    AddMemReg = 37,
    /// <summary>Removes one memory region.</summary>
    RemMemReg = 38,
    /// <summary>u64 device status.</summary>
    SetStatus = 39,
    /// <summary>Reply: u64 device status.</summary>
    GetStatus = 40,
}

/// <summary>vhost-user protocol features (bit numbers from the specification).</summary>
[Flags]
public enum VhostUserProtocolFeatures : ulong
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>Multiple queues; GET_QUEUE_NUM.</summary>
    Mq = 1UL << 0,
    /// <summary>Shared-memory dirty log.</summary>
    LogShmfd = 1UL << 1,
    /// <summary>NEED_REPLY acknowledgements.</summary>
    ReplyAck = 1UL << 3,
    /// <summary>Back-end request channel.</summary>
    SlaveReq = 1UL << 5,
    /// <summary>GET_CONFIG / SET_CONFIG.</summary>
    Config = 1UL << 9,
    /// <summary>Back-end may send fds on its channel.</summary>
    SlaveSendFd = 1UL << 10,
    /// <summary>Host notifiers.</summary>
    HostNotifier = 1UL << 11,
    /// <summary>Inflight-I/O tracking (GET/SET_INFLIGHT_FD).</summary>
    InflightShmfd = 1UL << 12,
    /// <summary>RESET_DEVICE.</summary>
    ResetDevice = 1UL << 13,
    /// <summary>In-band notifications.</summary>
    InbandNotifications = 1UL << 14,
    /// <summary>GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG.</summary>
    ConfigureMemSlots = 1UL << 15,
    /// <summary>SET_STATUS / GET_STATUS.</summary>
    Status = 1UL << 16,
}
