using Npgsql;

namespace OmgServers.Hosting.Configuration;

/// <summary>
/// Turns <c>omgservers.database.url</c> into an Npgsql connection string. Accepts the upstream form
/// <c>postgresql://host[:port]/database[?param=value...]</c> (also <c>postgres://</c> and a <c>jdbc:</c> prefix;
/// credentials from <c>user:password@</c> in the URL, else from the username/password settings) and a plain Npgsql
/// connection string (<c>Host=...;Database=...</c>; the username/password settings fill in what it lacks).
/// </summary>
public static class DatabaseUrl
{
    public static bool TryToConnectionString(string url, string username, string password, out string connectionString, out string error)
    {
        connectionString = "";
        error = "";
        var text = url.Trim();
        if (text.StartsWith("jdbc:", StringComparison.OrdinalIgnoreCase))
        {
            text = text["jdbc:".Length..];
        }

        NpgsqlConnectionStringBuilder builder;
        if (text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryFromUri(text, out builder, out error))
            {
                return false;
            }
        }
        else if (text.Contains('='))
        {
            try
            {
                builder = new NpgsqlConnectionStringBuilder(text);
            }
            catch (ArgumentException e)
            {
                error = $"not a valid Npgsql connection string ({e.Message})";
                return false;
            }

            if (string.IsNullOrEmpty(builder.Host))
            {
                error = "the connection string has no Host";
                return false;
            }
        }
        else
        {
            error = "expected postgresql://host:port/database or an Npgsql connection string (Host=...;Database=...)";
            return false;
        }

        if (string.IsNullOrEmpty(builder.Username) && username.Length > 0)
        {
            builder.Username = username;
        }

        if (string.IsNullOrEmpty(builder.Password) && password.Length > 0)
        {
            builder.Password = password;
        }

        connectionString = builder.ConnectionString;
        return true;
    }

    private static bool TryFromUri(string text, out NpgsqlConnectionStringBuilder builder, out string error)
    {
        builder = new NpgsqlConnectionStringBuilder();
        error = "";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            error = "not a valid postgresql:// URL";
            return false;
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length == 0 || database.Contains('/'))
        {
            error = "the URL must name one database: postgresql://host:port/database";
            return false;
        }

        builder.Host = uri.Host.Trim('[', ']');
        builder.Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port;
        builder.Database = database;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            try
            {
                builder[key.Equals("sslmode", StringComparison.OrdinalIgnoreCase) ? "SSL Mode" : key] = value;
            }
            catch (ArgumentException)
            {
                error = $"unknown connection parameter '{key}' in the URL";
                return false;
            }
        }

        return true;
    }
}
