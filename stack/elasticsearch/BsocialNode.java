// Part of stack/elasticsearch/Launcher.java: an Elasticsearch Node whose plugins
// come from the classpath. In Elasticsearch's package because the constructor
// that takes a NodeConstruction and NodeServiceProvider are package-private.
// Written against 8.19 (8.15 had no PluginsLoader: see stack/README.md).
package org.elasticsearch.node;

import java.util.List;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;

public final class BsocialNode extends Node {
    private static final class Provider extends NodeServiceProvider {
        private final List<Class<? extends Plugin>> plugins;

        Provider(List<Class<? extends Plugin>> plugins) {
            this.plugins = plugins;
        }

        @Override
        PluginsService newPluginService(Environment env, PluginsLoader loader) {
            return new ClasspathPluginsService(env.settings(), env, loader, plugins);
        }
    }

    public BsocialNode(Environment env, List<Class<? extends Plugin>> plugins) {
        super(NodeConstruction.prepareConstruction(env, ClasspathPluginsService.emptyLoader(),
                                                   new Provider(plugins), true));
    }
}
