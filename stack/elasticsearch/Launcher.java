// Starts an embedded single-node Elasticsearch 8.19 in this JVM, its plugins
// (netty4 HTTP and transport, RootInfoPlugin for `GET /`) from the classpath (BsocialNode,
// ClasspathPluginsService). Settings come from arguments of the form
// <setting>=<value>; path.home is required. Compiled by stack/bstack.py against
// the jars fetched with stack/elasticsearch/pom.xml.
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
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
        Settings.Builder b = Settings.builder()
            .put("cluster.name", "bsocial-local")
            .put("node.name", "bsocial-es-1")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", "9200")
            .put("transport.port", "9300")
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("cluster.routing.allocation.disk.threshold_enabled", "false");
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
        // Elasticsearch's own logging API needs its log4j binding; the log4j
        // configuration itself comes from -Dlog4j.configurationFile.
        LogConfigurator.configureESLogging();
        LogConfigurator.setNodeName(nodeName);
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> nodeName);
        Node node = new BsocialNode(env, List.of(Netty4Plugin.class, RootInfoPlugin.class));

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
        }, "bsocial-es-shutdown"));

        node.start();
        System.out.println("bsocial-elasticsearch started: http " + settings.get("http.port")
            + ", transport " + settings.get("transport.port") + ", data " + settings.get("path.data"));
        System.out.flush();
        // Node threads are daemons: keep the JVM alive until SIGTERM/SIGINT.
        stopped.await();
    }
}
