namespace Orion.Pmd.Device.VhostUser;

/// <summary>
/// A front-end sent something the back-end cannot accept (a malformed message, an index or address out of range, a
/// request out of order). The session logs the message and closes the connection: a front-end that breaks the
/// protocol once cannot be trusted with shared memory afterwards.
/// </summary>
public sealed class VhostUserProtocolException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> says what was wrong and what would have been right.</summary>
    public VhostUserProtocolException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// A well-formed request the back-end declines (for example a config write to a read-only field). The front-end gets a
/// non-zero acknowledgement when it asked for one, and the connection stays up.
/// </summary>
internal sealed class VhostUserRequestRefusedException(string message) : Exception(message);
