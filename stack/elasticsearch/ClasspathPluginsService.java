// Part of stack/elasticsearch/Launcher.java: a PluginsService whose plugins are
// classes on the JVM's classpath (Elasticsearch loads plugins from directories
// only). In Elasticsearch's package because LoadedPlugin is package-private;
// the jars run on the classpath (unnamed module), so the split package is fine.
package org.elasticsearch.plugins;

import java.util.List;
import java.util.Map;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.jdk.ModuleQualifiedExportsService;

public final class ClasspathPluginsService extends PluginsService {
    private final List<LoadedPlugin> classpathPlugins;

    public ClasspathPluginsService(Settings settings, Environment env, List<Class<? extends Plugin>> classes) {
        // the home's modules/ and plugins/ directories are empty: nothing is loaded from them
        super(settings, env.configFile(), env.modulesFile(), env.pluginsFile());
        this.classpathPlugins = classes.stream()
            .map(c -> new LoadedPlugin(descriptor(c), loadPlugin(c, settings, env.configFile())))
            .toList();
    }

    private static PluginDescriptor descriptor(Class<? extends Plugin> c) {
        return new PluginDescriptor(c.getName(), "classpath plugin " + c.getName(), "NA", "8.15.0", "17",
            c.getName(), null, List.of(), false, false, false, false);
    }

    // The server runs in the unnamed module here: there are no qualified exports to add.
    @Override
    protected void addServerExportsService(Map<String, List<ModuleQualifiedExportsService>> exports) {}

    @Override
    protected List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }
}
