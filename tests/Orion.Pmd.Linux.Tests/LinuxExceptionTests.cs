using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

public class LinuxExceptionTests
{
    [Test]
    public void Message_NamesCallErrnoAndText()
    {
        var ex = new LinuxException("memfd_create", Errno.ENOMEM);
        Assert.That(ex.Message, Is.EqualTo("memfd_create failed: errno 12 (ENOMEM): Cannot allocate memory"));
        Assert.That(ex, Is.InstanceOf<IOException>());
    }

    [Test]
    public void Message_ForAnUnnamedErrno_OmitsTheName()
    {
        var ex = new LinuxException("ioctl", 133);
        Assert.That(ex.Message, Does.StartWith("ioctl failed: errno 133: "));
    }

    [Test]
    public void Duplicate_OfABadFd_ThrowsEbadf()
    {
        var ex = Assert.Throws<LinuxException>(() => FileDescriptor.Duplicate(-1));
        Assert.That(ex.Errno, Is.EqualTo(Errno.EBADF));
    }
}
