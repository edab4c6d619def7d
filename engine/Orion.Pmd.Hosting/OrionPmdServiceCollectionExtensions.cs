using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orion.Pmd.Engine;

namespace Orion.Pmd.Hosting;

/// <summary>Registers an Orion.Pmd engine with a generic host (<c>Host.CreateApplicationBuilder</c>, ASP.NET Core).</summary>
public static class OrionPmdServiceCollectionExtensions
{
    private const string ReflectionBinding =
        "AddOrionPmd binds EngineOptions from configuration by reflection: under trimming or NativeAOT, build EngineOptions in code and call PmdEngine.Start.";

    /// <summary>
    /// Adds an engine that starts with the host and stops (draining in-flight I/O) with it. Its
    /// <see cref="EngineOptions"/> bind from <paramref name="configuration"/> (by default the caller passes
    /// <c>builder.Configuration.GetSection(EngineOptions.SectionName)</c>), are validated when the host starts (every
    /// invalid key named at once), and get the host's <see cref="ILoggerFactory"/> and <see cref="IMeterFactory"/>.
    /// Resolve <see cref="PmdEngineHost"/>, <see cref="PmdEngine"/> or <see cref="BlockDevice"/> once the host has started.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The section to bind the options from.</param>
    /// <param name="configure">Adjusts the bound options (they are immutable: return a changed copy with <c>with</c>).</param>
    /// <remarks>
    /// Binding uses the configuration binder's reflection, which trimming and NativeAOT cannot see through (its source
    /// generator does not set init-only properties, and <see cref="EngineOptions"/> is immutable): a native
    /// application is warned at this call, and there gets its options from code (<see cref="PmdEngine.Start"/>).
    /// </remarks>
    [RequiresUnreferencedCode(ReflectionBinding)]
    [RequiresDynamicCode(ReflectionBinding)]
    public static IServiceCollection AddOrionPmd(this IServiceCollection services, IConfiguration configuration,
                                                 Func<EngineOptions, EngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<EngineOptions>()
                .Bind(configuration)
                .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>();
        services.AddSingleton(sp => new PmdEngineHost(
            sp.GetRequiredService<IOptions<EngineOptions>>(),
            configure,
            sp.GetService<ILoggerFactory>(),
            sp.GetService<IMeterFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<PmdEngineHost>());
        services.AddSingleton(sp => sp.GetRequiredService<PmdEngineHost>().Engine);
        services.AddSingleton(sp => sp.GetRequiredService<PmdEngineHost>().Engine.Device);
        return services;
    }

    /// <summary>Options validation through <see cref="EngineOptions.Problems"/>, so the host refuses to start on bad configuration.</summary>
    private sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
    {
        public ValidateOptionsResult Validate(string? name, EngineOptions options)
        {
            var problems = options.Problems();
            return problems.Count == 0 ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(problems.Select(p => $"{EngineOptions.SectionName}: {p}"));
        }
    }
}
