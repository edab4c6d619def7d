namespace Orion.Pmd.Engine.Tests.VhostUser.Support;

/// <summary>A vhost-user back-end process a test owns: qemu-storage-daemon or orion-vhost, which the crash tests kill and restart alike.</summary>
internal interface IBackEndProcess : IDisposable
{
    /// <summary>The engine's device string for it (<c>vhost-user:SOCKET</c>).</summary>
    string DeviceString { get; }

    /// <summary>Everything it printed so far.</summary>
    string Log { get; }

    /// <summary>SIGKILL: a crash, no clean-up.</summary>
    void Kill();

    /// <summary>Starts it again on the same socket with the same arguments.</summary>
    void Restart();
}
