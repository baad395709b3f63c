// Starts an embedded single-node OpenSearch 2.19.x in this JVM.
// Settings come from system properties named "bsocial.os.<setting>" (not
// "opensearch.*": OpenSearch reads some of those itself) and from
// arguments of the form <setting>=<value> (arguments win). Compiled by
// stack/bstack.py against the jars fetched with stack/opensearch/pom.xml.
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
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
    private static final String PREFIX = "bsocial.os.";

    private static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Settings.Builder b = Settings.builder()
            .put("cluster.name", "bsocial-local")
            .put("node.name", "bsocial-os-1")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", "9200")
            .put("transport.port", "9300")
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("cluster.routing.allocation.disk.threshold_enabled", "false");
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith(PREFIX)) {
                b.put(key.substring(PREFIX.length()), System.getProperty(key));
            }
        }
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                System.err.println("ignoring argument without '=': " + arg);
                continue;
            }
            b.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        Settings settings = b.build();
        if (settings.get("path.home") == null) {
            System.err.println("path.home is required");
            System.exit(2);
        }
        String nodeName = settings.get("node.name");
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> nodeName);
        Node node = new EmbeddedNode(env, List.of(Netty4Plugin.class, PainlessPlugin.class, CommonAnalysisPlugin.class));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "bsocial-os-shutdown"));

        node.start();
        System.out.println("bsocial-opensearch started: http " + settings.get("http.port")
            + ", transport " + settings.get("transport.port") + ", data " + settings.get("path.data"));
        System.out.flush();
        // Node threads are daemons: keep the JVM alive until SIGTERM/SIGINT.
        stopped.await();
    }
}
