// The engine-independent half of stack/elasticsearch/Launcher.java and
// stack/opensearch/Launcher.java: the settings of a single-node cluster on 127.0.0.1 and
// the life of the JVM around the node (start, a line on stdout, block until SIGTERM/SIGINT,
// close). No engine class is named here, so both engines compile it against their own jars
// (stack/bstacklib/java.py lists it among each component's sources).
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

final class NodeLauncher {
    /** One step of the node's life (Node.start, Node.close...). */
    interface Step {
        void run() throws Exception;
    }

    private NodeLauncher() {}

    /**
     * The defaults of a single-node loopback cluster named `nodeName`, then every system
     * property that starts with `propertyPrefix` (without it; none when null), then the
     * arguments of the form <setting>=<value> (they win). Exits with status 2 without
     * path.home.
     */
    static Map<String, String> settings(String nodeName, String propertyPrefix, String[] args) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("cluster.name", "bsocial-local");
        s.put("node.name", nodeName);
        s.put("discovery.type", "single-node");
        s.put("network.host", "127.0.0.1");
        s.put("http.port", "9200");
        s.put("transport.port", "9300");
        s.put("http.type", "netty4");
        s.put("transport.type", "netty4");
        s.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        if (propertyPrefix != null) {
            for (String key : System.getProperties().stringPropertyNames()) {
                if (key.startsWith(propertyPrefix)) {
                    s.put(key.substring(propertyPrefix.length()), System.getProperty(key));
                }
            }
        }
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                System.err.println("ignoring argument without '=': " + arg);
                continue;
            }
            s.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        if (s.get("path.home") == null) {
            System.err.println("path.home is required");
            System.exit(2);
        }
        return s;
    }

    /**
     * Runs `start`, prints "<name> started: http ..., transport ..., data ...", then blocks:
     * the node's threads are daemons, so the JVM lives until SIGTERM/SIGINT, whose hook
     * (thread `shutdownThread`) runs `stop`.
     */
    static void runUntilSignalled(String name, String shutdownThread, Map<String, String> settings,
                                  Step start, Step stop) throws Exception {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                stop.run();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, shutdownThread));

        start.run();
        System.out.println(name + " started: http " + settings.get("http.port")
            + ", transport " + settings.get("transport.port") + ", data " + settings.get("path.data"));
        System.out.flush();
        stopped.await();
    }
}
