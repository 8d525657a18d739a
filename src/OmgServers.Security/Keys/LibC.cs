using System.Runtime.InteropServices;

namespace OmgServers.Security;

/// <summary>The one libc call key publishing needs.</summary>
internal static partial class LibC
{
    public const int EEXIST = 17;

    /// <summary>
    /// <c>int link(const char *oldpath, const char *newpath)</c>: atomically gives the file a second name, failing
    /// with <see cref="EEXIST"/> when <paramref name="newPath"/> exists. (<c>File.Move</c> without overwrite checks
    /// and then renames, which two processes can both pass.)
    /// </summary>
    [LibraryImport("libc.so.6", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Link(string oldPath, string newPath);
}
