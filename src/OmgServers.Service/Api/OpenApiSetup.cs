namespace OmgServers.Service.Api;

/// <summary>The OpenAPI document at /q/openapi and a browsable page at /q/swagger-ui (upstream's Quarkus paths).</summary>
public static class OpenApiSetup
{
    public static IServiceCollection AddOmgOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new Microsoft.OpenApi.OpenApiInfo
            {
                Title = "OmgServers.Akka",
                Version = "v1",
                Description = "OMGSERVERS-compatible API (January 2025 contract). Every call is a POST with a JSON body; "
                    + "errors are {\"qualifier\": ...} with the contract's status codes. Authenticate with `Authorization: Bearer <raw_token>` "
                    + "from the create-token call of your role.",
            });
            o.CustomSchemaIds(t => t.FullName!.Replace('+', '.'));
        });
        return services;
    }

    public static WebApplication MapOmgOpenApi(this WebApplication app)
    {
        app.UseSwagger(o => o.RouteTemplate = "q/openapi/{documentName}.json");
        app.MapGet("/q/openapi", () => Results.Redirect("/q/openapi/v1.json")).ExcludeFromDescription();
        app.UseSwaggerUI(o =>
        {
            o.RoutePrefix = "q/swagger-ui";
            o.SwaggerEndpoint("/q/openapi/v1.json", "OmgServers.Akka v1");
        });
        return app;
    }
}
