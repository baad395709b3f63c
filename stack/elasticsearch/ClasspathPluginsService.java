// Part of stack/elasticsearch/Launcher.java: a PluginsService whose plugins are
// classes on the JVM's classpath (Elasticsearch loads plugins from directories
// only). In Elasticsearch's package because LoadedPlugin is package-private;
// the jars run on the classpath (unnamed module), so the split package is fine.
package org.elasticsearch.plugins;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.elasticsearch.Build;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;

public final class ClasspathPluginsService extends PluginsService {
    private final List<LoadedPlugin> classpathPlugins;

    public ClasspathPluginsService(Settings settings, Environment env, PluginsLoader loader,
                                   List<Class<? extends Plugin>> classes) {
        super(settings, env.configDir(), loader);
        this.classpathPlugins = classes.stream()
            .map(c -> new LoadedPlugin(descriptor(c), loadPlugin(c, settings, env.configDir()),
                                       c.getClassLoader()))
            .toList();
    }

    /** No modules, no plugins from directories: every plugin comes from the classpath
     *  (and the server runs in the unnamed module: no qualified exports to add). */
    public static PluginsLoader emptyLoader() {
        return PluginsLoader.createPluginsLoader(Set.of(), Set.of(), Map.of(), false);
    }

    private static PluginDescriptor descriptor(Class<? extends Plugin> c) {
        return new PluginDescriptor(c.getName(), "classpath plugin " + c.getName(), "NA",
            Build.current().version(), "17", c.getName(), null, List.of(), false, false, false, false);
    }

    @Override
    protected List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }
}
