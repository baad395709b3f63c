// Starts an embedded single-node OpenSearch 2.19.x in this JVM.
// Settings come from system properties named "bsocial.os.<setting>" (not
// "opensearch.*": OpenSearch reads some of those itself) and from
// arguments of the form <setting>=<value> (arguments win; stack/common/NodeLauncher.java).
// Compiled by stack/bstack.py against the jars fetched with stack/opensearch/pom.xml.
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class Launcher {
    private static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> values = NodeLauncher.settings("bsocial-os-1", "bsocial.os.", args);
        Settings.Builder b = Settings.builder();
        values.forEach((k, v) -> b.put(k, v));
        Settings settings = b.build();
        String nodeName = settings.get("node.name");
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> nodeName);
        Node node = new EmbeddedNode(env, List.of(Netty4Plugin.class, PainlessPlugin.class, CommonAnalysisPlugin.class));
        NodeLauncher.runUntilSignalled("bsocial-opensearch", "bsocial-os-shutdown", values,
            node::start, () -> {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            });
    }
}
