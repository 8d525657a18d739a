using OmgServers.Service.Tests.Infrastructure;
using Xunit;

[assembly: AssemblyFixture(typeof(TestPostgres))]
