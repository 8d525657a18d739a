using FluentAssertions;
using OmgServers.Service.Tests.Infrastructure;
using Xunit;
using static OmgServers.Service.Tests.Cli.CliFixture;

namespace OmgServers.Service.Tests.Cli;

/// <summary>
/// What `omgserversctl.sh` sends and prints without a server of ours: every command's endpoint and body (contract 8.4,
/// quoted and unquoted ids as upstream, deleteVersion fixed) as a recording HTTP endpoint receives them, the help text
/// (upstream's usage lines, line for line, then ours), and the errors of contract 8.3.
/// </summary>
public sealed class OmgServersCtlRequestTests : IAsyncLifetime
{
    private const string Entry = "/service/v1/entrypoint";

    /// <summary>The usage text of the upstream tool (seed README, "Command-line tool"), line for line.</summary>
    private static readonly string[] UpstreamUsage =
    [
        "OMGSERVERS ctl, v1.0.0",
        "Usage:",
        " ./omgserversctl.sh help",
        " ./omgserversctl.sh logs",
        " ./omgserversctl.sh environment reset",
        " ./omgserversctl.sh environment printCurrent",
        " ./omgserversctl.sh environment printVariable <variable>",
        " ./omgserversctl.sh environment useEnvironment <name> <service_url>",
        " ./omgserversctl.sh environment usePublic",
        " ./omgserversctl.sh environment useLocal",
        " ./omgserversctl.sh admin useCredentials <user> <password>",
        " ./omgserversctl.sh admin printCurrent",
        " ./omgserversctl.sh admin createToken",
        " ./omgserversctl.sh admin calculateShard <shard_key>",
        " ./omgserversctl.sh admin generateId",
        " ./omgserversctl.sh admin bcryptHash <value>",
        " ./omgserversctl.sh admin pingDockerHost <docker_daemon_uri>",
        " ./omgserversctl.sh support useCredentials <user> <password>",
        " ./omgserversctl.sh support printCurrent",
        " ./omgserversctl.sh support createToken",
        " ./omgserversctl.sh support createTenant",
        " ./omgserversctl.sh support createTenantAlias <tenant_id> <alias>",
        " ./omgserversctl.sh support deleteTenant <tenant>",
        " ./omgserversctl.sh support createProject <tenant>",
        " ./omgserversctl.sh support createProjectAlias <tenant> <project_id> <alias>",
        " ./omgserversctl.sh support deleteProject <tenant> <project>",
        " ./omgserversctl.sh support createDeveloper",
        " ./omgserversctl.sh support createTenantPermission <tenant> <user> <permission>",
        " ./omgserversctl.sh support deleteTenantPermission <tenant> <user> <permission>",
        " ./omgserversctl.sh support createProjectPermission <tenant> <project> <user> <permission>",
        " ./omgserversctl.sh support deleteProjectPermission <tenant> <project> <user> <permission>",
        " ./omgserversctl.sh support createStagePermission <tenant> <project> <stage> <user> <permission>",
        " ./omgserversctl.sh support deleteStagePermission <tenant> <project> <stage> <user> <permission>",
        " ./omgserversctl.sh developer useCredentials <user> <password>",
        " ./omgserversctl.sh developer printCurrent",
        " ./omgserversctl.sh developer createToken",
        " ./omgserversctl.sh developer getTenantDetails <tenant>",
        " ./omgserversctl.sh developer createProject <tenant>",
        " ./omgserversctl.sh developer createProjectAlias <tenant> <project_id> <alias>",
        " ./omgserversctl.sh developer getProjectDetails <tenant> <project>",
        " ./omgserversctl.sh developer deleteProject <tenant> <project>",
        " ./omgserversctl.sh developer createStage <tenant> <project>",
        " ./omgserversctl.sh developer createStageAlias <tenant> <stage_id> <alias>",
        " ./omgserversctl.sh developer getStageDetails <tenant> <project> <stage>",
        " ./omgserversctl.sh developer deleteStage <tenant> <project> <stage>",
        " ./omgserversctl.sh developer createVersion <tenant> <project> <config_path>",
        " ./omgserversctl.sh developer uploadFilesArchive <tenant> <version> <files_directory_path>",
        " ./omgserversctl.sh developer getVersionDetails <tenant> <version>",
        " ./omgserversctl.sh developer deleteVersion <tenant> <version>",
        " ./omgserversctl.sh developer deployVersion <tenant> <project> <stage> <version>",
        " ./omgserversctl.sh developer getDeploymentDetails <tenant> <deployment>",
        " ./omgserversctl.sh developer deleteDeployment <tenant> <deployment>",
        " ./omgserversctl.sh developer createLobbyRequest <tenant> <deployment>",
        " ./omgserversctl.sh developer deleteLobby <lobby>",
        " ./omgserversctl.sh developer createMatchmakerRequest <tenant> <deployment>",
        " ./omgserversctl.sh developer deleteMatchmaker <matchmaker>",
    ];

    private static readonly string[] OurUsage =
    [
        " ./omgserversctl.sh embedded start [port]",
        " ./omgserversctl.sh embedded stop",
        " ./omgserversctl.sh embedded status",
        " ./omgserversctl.sh cluster show [--url URL]",
        " ./omgserversctl.sh cluster drain <node-id> [--url URL]",
        " ./omgserversctl.sh cluster undrain <node-id> [--url URL]",
        " ./omgserversctl.sh developer createImage <tenant> <version> <qualifier> <image_id>",
        " ./omgserversctl.sh developer getMatchmakerDetails <tenant> <matchmaker>",
        " ./omgserversctl.sh environment useDemoServer",
        " ./omgserversctl.sh environment useLocalServer",
    ];

    private readonly RecordingServer _server = new();
    private readonly string _directory = TempDirectory.NewPath("cli-requests");

    public ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return ValueTask.CompletedTask;
    }

    private string NewWorkDirectory() => Directory.CreateDirectory(Path.Combine(_directory, Guid.NewGuid().ToString("N")[..8])).FullName;

    /// <summary>
    /// (arguments, endpoint operation, expected body, token): each command's request. The recording endpoint answers {},
    /// so commands that expect a field then stop with "was not received"; the request is what is checked here.
    /// </summary>
    public static TheoryData<string, string, string, string?> Commands() => new()
    {
        { "admin createToken", "admin/request/create-token", """{"user": "admin", "password": "a'pw"}""", null },
        { "admin calculateShard key-1", "admin/request/calculate-shard", """{"shard_key": "key-1"}""", "adm" },
        { "admin generateId", "admin/request/generate-id", "{}", "adm" },
        { "admin bcryptHash value-1", "admin/request/bcrypt-hash", """{"value": "value-1"}""", "adm" },
        { "admin pingDockerHost tcp://docker:2375", "admin/request/ping-docker-host", """{"docker_daemon_uri": "tcp://docker:2375"}""", "adm" },
        { "support createToken", "support/request/create-token", """{"user": "support", "password": "s\"pw"}""", null },
        { "support createTenant", "support/request/create-tenant", "{}", "sup" },
        { "support createTenantAlias 12 my-tenant", "support/request/create-tenant-alias", """{"tenant_id": 12, "alias": "my-tenant"}""", "sup" },
        { "support deleteTenant my-tenant", "support/request/delete-tenant", """{"tenant": "my-tenant"}""", "sup" },
        { "support createProject my-tenant", "support/request/create-project", """{"tenant": "my-tenant"}""", "sup" },
        { "support createProjectAlias t 34 game", "support/request/create-project-alias", """{"tenant": "t", "project_id": "34", "alias": "game"}""", "sup" },
        { "support deleteProject t game", "support/request/delete-project", """{"tenant": "t", "project": "game"}""", "sup" },
        { "support createDeveloper", "support/request/create-developer", "{}", "sup" },
        { "support createTenantPermission t 56 TENANT_VIEWER", "support/request/create-tenant-permissions",
            """{"tenant": "t", "user_id": "56", "permissions_to_create": ["TENANT_VIEWER"]}""", "sup" },
        { "support deleteTenantPermission t 56 PROJECT_MANAGER", "support/request/delete-tenant-permissions",
            """{"tenant": "t", "user_id": "56", "permissions_to_delete": ["PROJECT_MANAGER"]}""", "sup" },
        { "support createProjectPermission t game 56 PROJECT_VIEWER", "support/request/create-project-permissions",
            """{"tenant": "t", "project": "game", "user_id": "56", "permissions_to_create": ["PROJECT_VIEWER"]}""", "sup" },
        { "support deleteProjectPermission t game 56 STAGE_MANAGER", "support/request/delete-project-permissions",
            """{"tenant": "t", "project": "game", "user_id": "56", "permissions_to_delete": ["STAGE_MANAGER"]}""", "sup" },
        { "support createStagePermission t game live 56 STAGE_VIEWER", "support/request/create-stage-permissions",
            """{"tenant": "t", "project": "game", "stage": "live", "user_id": "56", "permissions_to_create": ["STAGE_VIEWER"]}""", "sup" },
        { "support deleteStagePermission t game live 56 DEPLOYMENT_MANAGER", "support/request/delete-stage-permissions",
            """{"tenant": "t", "project": "game", "stage": "live", "user_id": 56, "permissions_to_delete": ["DEPLOYMENT_MANAGER"]}""", "sup" },
        { "developer createToken", "developer/request/create-token", """{"user_id": "78", "password": "d\\pw"}""", null },
        { "developer getTenantDetails t", "developer/request/get-tenant-details", """{"tenant": "t"}""", "dev" },
        { "developer createProject t", "developer/request/create-project", """{"tenant": "t"}""", "dev" },
        { "developer createProjectAlias t 34 game", "developer/request/create-project-alias", """{"tenant": "t", "project_id": 34, "alias": "game"}""", "dev" },
        { "developer getProjectDetails t game", "developer/request/get-project-details", """{"tenant": "t", "project": "game"}""", "dev" },
        { "developer deleteProject t game", "developer/request/delete-project", """{"tenant": "t", "project": "game"}""", "dev" },
        { "developer createStage t game", "developer/request/create-stage", """{"tenant": "t", "project": "game"}""", "dev" },
        { "developer createStageAlias t 90 live", "developer/request/create-stage-alias", """{"tenant": "t", "stage_id": "90", "alias": "live"}""", "dev" },
        { "developer getStageDetails t game live", "developer/request/get-stage-details", """{"tenant": "t", "project": "game", "stage": "live"}""", "dev" },
        { "developer deleteStage t game live", "developer/request/delete-stage", """{"tenant": "t", "project": "game", "stage": "live"}""", "dev" },
        { "developer createVersion t game config.json", "developer/request/create-version",
            """{"tenant": "t", "project": "game", "config": {"modes":[{"name":"m","min_players":1,"max_players":2,"groups":[]}],"user_data":{"n":42}}}""", "dev" },
        // A number longer than jq 1.6's doubles keep: the file's own text on one line, every digit kept.
        { "developer createVersion t game big.json", "developer/request/create-version",
            """{"tenant": "t", "project": "game", "config": {  "modes": [],  "user_data": { "n": 12345678901234567890 }}}""", "dev" },
        { "developer getVersionDetails t 11", "developer/request/get-version-details", """{"tenant": "t", "version_id": 11}""", "dev" },
        { "developer deleteVersion t 11", "developer/request/delete-version", """{"tenant": "t", "id": "11"}""", "dev" },
        { "developer createImage t 11 UNIVERSAL process:echo", "developer/request/create-image",
            """{"tenant": "t", "version_id": 11, "qualifier": "UNIVERSAL", "image_id": "process:echo"}""", "dev" },
        { "developer deployVersion t game live 11", "developer/request/deploy-version", """{"tenant": "t", "project": "game", "stage": "live", "version_id": 11}""", "dev" },
        { "developer getDeploymentDetails t 22", "developer/request/get-deployment-details", """{"tenant": "t", "deployment_id": 22}""", "dev" },
        { "developer deleteDeployment t 22", "developer/request/delete-deployment", """{"tenant": "t", "id": "22"}""", "dev" },
        { "developer createLobbyRequest t 22", "developer/request/create-lobby-request", """{"tenant": "t", "deployment_id": "22"}""", "dev" },
        { "developer deleteLobby 33", "developer/request/delete-lobby", """{"lobby_id": "33"}""", "dev" },
        { "developer createMatchmakerRequest t 22", "developer/request/create-matchmaker-request", """{"tenant": "t", "deployment_id": "22"}""", "dev" },
        { "developer deleteMatchmaker 44", "developer/request/delete-matchmaker", """{"matchmaker_id": "44"}""", "dev" },
        { "developer getMatchmakerDetails t 44", "developer/request/get-matchmaker-details", """{"tenant": "t", "matchmaker_id": "44"}""", "dev" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Each_command_posts_the_upstream_body_to_its_endpoint(string command, string operation, string body, string? token)
    {
        var dir = NewWorkDirectory();
        await ConfigureAsync(dir);

        var result = await CtlAsync(dir, command.Split(' '));

        var request = _server.Take().Should().ContainSingle(result.ToString()).Subject;
        request.Method.Should().Be("POST");
        request.Path.Should().Be($"{Entry}/{operation}");
        request.Header("Content-type").Should().Be("application/json");
        request.Text.Should().Be(body);
        request.Header("Authorization").Should().Be(token is null ? null : $"Bearer {token}");
        File.ReadAllText(Path.Combine(dir, ".omgserversctl", "logs")).Should().EndWith($"\n{_server.Url}{Entry}/{operation}\n{body}\n{{}}\n");
    }

    [Fact]
    public async Task Upload_files_archive_sends_the_lua_files_as_multipart_version_zip()
    {
        var dir = NewWorkDirectory();
        await ConfigureAsync(dir);
        var files = Directory.CreateDirectory(Path.Combine(dir, "game", "lib")).Parent!.FullName;
        await File.WriteAllTextAsync(Path.Combine(files, "main.lua"), "return {}", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(files, "lib", "util.lua"), "return 1", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(files, "notes.txt"), "not lua", TestContext.Current.CancellationToken);

        var result = await CtlAsync(dir, "developer", "uploadFilesArchive", "t", "11", files);

        if (!File.Exists("/usr/bin/zip") && !File.Exists("/bin/zip"))
        {
            result.ExitCode.Should().Be(1, result.ToString());
            result.Errors.Should().Contain("zip is required but not installed");
            return;
        }

        result.Errors.Should().Contain("ERROR: FILES_ARCHIVE was not received", "the recording endpoint answers {}");
        var request = _server.Take().Should().ContainSingle(result.ToString()).Subject;
        request.Path.Should().Be($"{Entry}/developer/request/upload-files-archive");
        request.Header("Content-type").Should().StartWith("multipart/form-data; boundary=");
        request.Header("Authorization").Should().Be("Bearer dev");
        request.Text.Should().Contain("name=\"tenant\"\r\n\r\nt\r\n").And.Contain("name=\"tenantVersionId\"\r\n\r\n11\r\n")
            .And.Contain("name=\"version.zip\"; filename=\"version_t_11.zip\"");
        var archive = Path.Combine(dir, ".omgserversctl", "versions", "version_t_11.zip");
        using var zip = System.IO.Compression.ZipFile.OpenRead(archive);
        zip.Entries.Select(e => e.FullName).Should().BeEquivalentTo("main.lua", "lib/util.lua");
    }

    [Fact]
    public async Task A_missing_field_in_an_answer_stops_with_was_not_received()
    {
        var dir = NewWorkDirectory();
        await OkAsync(dir, "environment", "useEnvironment", "fake", _server.Url);

        var result = await CtlAsync(dir, "admin", "useCredentials", "admin", "pw");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Errors.Should().Be("ERROR: ADMIN_TOKEN was not received\n");
        EnvironmentLines(dir).Should().Contain(["export OMGSERVERSCTL_ADMIN_USER=admin", "export OMGSERVERSCTL_ADMIN_PASSWORD='pw'"])
            .And.NotContain(l => l.Contains("ADMIN_TOKEN"));

    }

    [Fact]
    public async Task Answers_are_read_by_field_and_stored()
    {
        var dir = NewWorkDirectory();
        await ConfigureAsync(dir);

        _server.Answer = """{"deleted": false}""";
        (await OkAsync(dir, "developer", "deleteLobby", "33")).Output.Should().Contain(" fake Lobby was not deleted, LOBBY_ID=33\n");
        (await VariableAsync(dir, "DELETED")).Should().Be("false");
        _server.Take().Single().Header("Authorization").Should().Be("Bearer dev");

        _server.Answer = """{"raw_token": "new-token", "unknown": [1, 2]}""";
        (await OkAsync(dir, "developer", "createToken")).Output.Should().Contain(" fake Using developer, DEVELOPER_USER=78\n")
            .And.Contain(" fake Developer token was created\n");
        (await VariableAsync(dir, "DEVELOPER_TOKEN")).Should().Be("new-token");
        _server.Take().Single().Header("Authorization").Should().BeNull("create-token is public");

        _server.Answer = """{"successful": false, "from_server": "http://node-0:8080"}""";
        (await OkAsync(dir, "admin", "pingDockerHost", "tcp://docker:2375")).Output
            .Should().Contain("Docker host was not pinged, FROM_SERVER=http://node-0:8080, DOCKER_DAEMON_URI=tcp://docker:2375");
        (await VariableAsync(dir, "SUCCESSFUL")).Should().Be("false");

        _server.Answer = """{"shard_index": 7, "server_uri": "http://node-1:8080"}""";
        (await OkAsync(dir, "admin", "calculateShard", "k")).Output.Should().Contain("Shard was calculated, SHARD_INDEX=7, SERVER_URI=http://node-1:8080");
        EnvironmentLines(dir).Should().EndWith(["export OMGSERVERSCTL_SHARD_INDEX=7", "export OMGSERVERSCTL_SERVER_URI=http://node-1:8080"]);
    }

    [Fact]
    public async Task Help_prints_the_upstream_usage_line_for_line_then_ours()
    {
        var dir = NewWorkDirectory();
        foreach (var arguments in new[] { Array.Empty<string>(), ["help"] })
        {
            var result = await OkAsync(dir, arguments);
            var lines = result.Output.TrimEnd('\n').Split('\n');
            lines[..UpstreamUsage.Length].Should().Equal(UpstreamUsage);
            lines[UpstreamUsage.Length..].Where(l => l.StartsWith(" ./")).Select(l => l.Split("  ")[0].TrimEnd())
                .Should().Equal(OurUsage);
        }

        (await OkAsync(dir, "help", "developer", "createProject")).Output.Should().Be(
            "OMGSERVERS ctl, v1.0.0\nUsage:\n ./omgserversctl.sh developer createProject <tenant>\n   produces:\n     - PROJECT\n     - STAGE\n");
        (await OkAsync(dir, "help", "support", "createStagePermission")).Output.Should().EndWith(
            " <permission>\n   permission:\n     - DEPLOYMENT_MANAGER\n     - STAGE_VIEWER\n");
        var admin = (await OkAsync(dir, "help", "admin")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        admin.Should().Equal(UpstreamUsage.Where(l => l.StartsWith(" ./omgserversctl.sh admin ")).Prepend("Usage:").Prepend("OMGSERVERS ctl, v1.0.0"));

        var unknown = await CtlAsync(dir, "help", "nothing");
        unknown.ExitCode.Should().Be(1);
        unknown.Output.Should().StartWith(string.Join('\n', UpstreamUsage));
    }

    [Fact]
    public async Task Missing_arguments_print_the_command_help_and_exit_1_without_a_request()
    {
        var dir = NewWorkDirectory();
        await ConfigureAsync(dir);

        foreach (var (arguments, usage) in new[]
                 {
                     ("developer createProject", " ./omgserversctl.sh developer createProject <tenant>"),
                     ("developer deployVersion t game live", " ./omgserversctl.sh developer deployVersion <tenant> <project> <stage> <version>"),
                     ("support createTenantPermission t 56", " ./omgserversctl.sh support createTenantPermission <tenant> <user> <permission>"),
                     ("admin useCredentials admin", " ./omgserversctl.sh admin useCredentials <user> <password>"),
                     ("environment useEnvironment name", " ./omgserversctl.sh environment useEnvironment <name> <service_url>"),
                     ("developer createImage t 11 UNIVERSAL", " ./omgserversctl.sh developer createImage <tenant> <version> <qualifier> <image_id>"),
                     ("developer getMatchmakerDetails t", " ./omgserversctl.sh developer getMatchmakerDetails <tenant> <matchmaker>"),
                 })
        {
            var result = await CtlAsync(dir, arguments.Split(' '));
            result.ExitCode.Should().Be(1, result.ToString());
            result.Output.Split('\n')[..3].Should().Equal("OMGSERVERS ctl, v1.0.0", "Usage:", usage);
        }

        var unknownCommand = await CtlAsync(dir, "developer", "fly");
        unknownCommand.ExitCode.Should().Be(1);
        unknownCommand.Output.Should().Contain(" ./omgserversctl.sh developer createProject <tenant>").And.NotContain(" admin ");
        _server.Take().Should().BeEmpty("no command with missing arguments calls the server");
    }

    [Fact]
    public async Task Without_an_environment_commands_stop_and_variables_are_reported_missing()
    {
        var dir = NewWorkDirectory();
        foreach (var arguments in new[] { "admin generateId", "support createTenant", "developer printCurrent", "environment printVariable TENANT", "environment printCurrent" })
        {
            var result = await CtlAsync(dir, arguments.Split(' '));
            result.ExitCode.Should().Be(1, result.ToString());
            result.Errors.Should().MatchRegex(" unknown ERROR: Environment was not configured\n$");
        }

        await OkAsync(dir, "environment", "useEnvironment", "fake", _server.Url);
        var missing = await CtlAsync(dir, "environment", "printVariable", "NOT_THERE");
        missing.ExitCode.Should().Be(1, missing.ToString());
        missing.Output.Should().BeEmpty();
        missing.Errors.Should().Contain("fake ERROR: Variable was not found, VARIABLE_NAME=OMGSERVERSCTL_NOT_THERE");
        (await VariableAsync(dir, "SERVICE_URL")).Should().Be(_server.Url);

        await OkAsync(dir, "environment", "reset");
        File.Exists(Path.Combine(dir, ".omgserversctl", "environment")).Should().BeFalse();
        (await CtlAsync(dir, "environment", "printVariable", "SERVICE_URL")).ExitCode.Should().Be(1);
        _server.Take().Should().BeEmpty();
    }

    /// <summary>The environment of the recording endpoint, with credentials (quotes and backslashes) and tokens of every role.</summary>
    private async Task ConfigureAsync(string dir)
    {
        await OkAsync(dir, "environment", "useEnvironment", "fake", _server.Url);
        await File.AppendAllLinesAsync(Path.Combine(dir, ".omgserversctl", "environment"),
        [
            "export OMGSERVERSCTL_ADMIN_USER=admin", "export OMGSERVERSCTL_ADMIN_PASSWORD='a'\\''pw'", "export OMGSERVERSCTL_ADMIN_TOKEN=adm",
            "export OMGSERVERSCTL_SUPPORT_USER=support", "export OMGSERVERSCTL_SUPPORT_PASSWORD='s\"pw'", "export OMGSERVERSCTL_SUPPORT_TOKEN=sup",
            "export OMGSERVERSCTL_DEVELOPER_USER=78", "export OMGSERVERSCTL_DEVELOPER_PASSWORD='d\\pw'", "export OMGSERVERSCTL_DEVELOPER_TOKEN=dev",
        ], TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(dir, "config.json"),
            "{\n  \"modes\": [ { \"name\": \"m\", \"min_players\": 1, \"max_players\": 2, \"groups\": [] } ],\n  \"user_data\": { \"n\": 42 }\n}\n",
            TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(dir, "big.json"), "{\r\n  \"modes\": [],\r\n  \"user_data\": { \"n\": 12345678901234567890 }\r\n}\r\n",
            TestContext.Current.CancellationToken);
        _server.Take();
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
