using OmgServers.Actors;
using OmgServers.Hosting.Configuration;
using OmgServers.Security;
using OmgServers.Service.Database;

namespace OmgServers.Service.Identity;

/// <summary>
/// Contract 6.6: once the runtime serves, create the default users (admin, support, registry, builder, service,
/// dispatcher) that have a configured password, each with its alias; existing aliases make each step a no-op.
/// With the embedded database (the quick start) bootstrap is on by default, and users without a configured password
/// get a generated one, written once to &lt;data-dir&gt;/bootstrap/&lt;role&gt;.password (mode 0600) so the operator can log in.
/// </summary>
public sealed class Bootstrap(OmgServersSettings settings, DatabaseEndpoint database, ActorRuntime runtime, Users users, ILogger<Bootstrap> log) : BackgroundService
{
    private volatile bool _completed;

    public bool Completed { get => _completed; private set => _completed = value; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var enabled = settings.Bootstrap.Enabled || database.Embedded;
        if (!enabled)
        {
            Completed = true;
            return;
        }
        var roles = new (string Role, BootstrapUser User)[]
        {
            (OmgRoles.Admin, settings.Bootstrap.AdminUser), (OmgRoles.Support, settings.Bootstrap.SupportUser),
            (OmgRoles.Registry, settings.Bootstrap.RegistryUser), (OmgRoles.Builder, settings.Bootstrap.BuilderUser),
            (OmgRoles.Service, settings.Bootstrap.ServiceUser), (OmgRoles.Dispatcher, settings.Bootstrap.DispatcherUser),
        };
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                while (!runtime.IsReady) await Task.Delay(100, stoppingToken);
                foreach (var (role, user) in roles)
                {
                    var password = user.Password;
                    if (password.Length == 0)
                    {
                        if (!database.Embedded)
                        {
                            log.LogWarning("bootstrap: no password configured for the {Role} user (OMGSERVERS_BOOTSTRAP_{Upper}_USER_PASSWORD); not created", role, role.ToUpperInvariant());
                            continue;
                        }
                        password = StoredPassword(role);
                    }
                    var id = await users.EnsureWithAliasAsync(role, user.Alias, password, stoppingToken);
                    log.LogDebug("bootstrap: {Role} user {Alias} is {Id}", role, user.Alias, id);
                }
                Completed = true;
                log.LogInformation("bootstrap done: default users ensured{Where}", database.Embedded ? $"; generated passwords are in {Folder()}" : "");
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning("bootstrap attempt {Attempt} failed: {Error}; retrying", attempt, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt)), stoppingToken);
            }
        }
    }

    private string Folder() => Path.Combine(settings.Server.DataDirFullPath(), "bootstrap");

    /// <summary>The generated password of a default user in the embedded installation, created on first use.</summary>
    private string StoredPassword(string role)
    {
        var folder = Folder();
        Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(folder, role + ".password");
        if (File.Exists(path)) return File.ReadAllText(path).Trim();
        var password = PasswordGenerator.Generate();
        var temp = path + ".tmp";
        File.WriteAllText(temp, password + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: false);
        return password;
    }
}
