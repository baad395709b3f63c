// Starts an embedded single-node Elasticsearch 8.19 in this JVM, its plugins
// (netty4 HTTP and transport, RootInfoPlugin for `GET /`) from the classpath (BsocialNode,
// ClasspathPluginsService). Settings come from arguments of the form
// <setting>=<value>; path.home is required (stack/common/NodeLauncher.java). Compiled by
// stack/bstack.py against the jars fetched with stack/elasticsearch/pom.xml.
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.BsocialNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

public final class Launcher {
    public static void main(String[] args) throws Exception {
        Map<String, String> values = NodeLauncher.settings("bsocial-es-1", null, args);
        Settings.Builder b = Settings.builder();
        values.forEach((k, v) -> b.put(k, v));
        Settings settings = b.build();
        String nodeName = settings.get("node.name");
        // Elasticsearch's own logging API needs its log4j binding; the log4j
        // configuration itself comes from -Dlog4j.configurationFile.
        LogConfigurator.configureESLogging();
        LogConfigurator.setNodeName(nodeName);
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> nodeName);
        Node node = new BsocialNode(env, List.of(Netty4Plugin.class, RootInfoPlugin.class));
        NodeLauncher.runUntilSignalled("bsocial-elasticsearch", "bsocial-es-shutdown", values,
            node::start, () -> {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            });
    }
}
