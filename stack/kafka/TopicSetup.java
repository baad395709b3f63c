// Waits for a Kafka cluster to be usable, creates topics, waits for leaders.
// Usage: TopicSetup <bootstrap> <expectedBrokers> <partitions> <replication> <timeoutSeconds> [topic...]
// One JVM for every topic: kafka-topics.sh would cost a JVM start per topic.
// Exit 0 when every topic exists with a leader on every partition.
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;

public final class TopicSetup {
    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: TopicSetup <bootstrap> <brokers> <partitions> <replication> <timeoutSeconds> [topic...]");
            System.exit(2);
        }
        String bootstrap = args[0];
        int brokers = Integer.parseInt(args[1]);
        int partitions = Integer.parseInt(args[2]);
        short replication = Short.parseShort(args[3]);
        long deadline = System.currentTimeMillis() + Long.parseLong(args[4]) * 1000L;
        List<String> topics = new ArrayList<>();
        for (int i = 5; i < args.length; i++) topics.add(args[i]);

        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "250");
        p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        try (Admin admin = Admin.create(p)) {
            // 1. every broker registered
            while (true) {
                try {
                    Collection<Node> nodes = admin.describeCluster().nodes().get();
                    if (nodes.size() >= brokers) break;
                } catch (ExecutionException e) {
                    // not up yet
                }
                check(deadline, "waiting for " + brokers + " broker(s)");
                Thread.sleep(100);
            }
            System.out.println("brokers ready");
            if (topics.isEmpty()) return;
            // 2. create (idempotent)
            while (true) {
                List<NewTopic> missing = new ArrayList<>();
                for (String t : topics) missing.add(new NewTopic(t, partitions, replication));
                boolean ok = true;
                for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e
                        : admin.createTopics(missing).values().entrySet()) {
                    try {
                        e.getValue().get();
                    } catch (ExecutionException ex) {
                        if (!(ex.getCause() instanceof TopicExistsException)) {
                            ok = false;
                            System.err.println("create " + e.getKey() + ": " + ex.getCause());
                        }
                    }
                }
                if (ok) break;
                check(deadline, "creating topics");
                Thread.sleep(250);
            }
            // 3. leaders everywhere
            while (true) {
                boolean ok = true;
                try {
                    for (TopicDescription d : admin.describeTopics(topics).allTopicNames().get().values()) {
                        for (TopicPartitionInfo pi : d.partitions()) {
                            if (pi.leader() == null || pi.leader().isEmpty()) ok = false;
                        }
                    }
                } catch (ExecutionException e) {
                    ok = false;
                }
                if (ok) break;
                check(deadline, "waiting for partition leaders");
                Thread.sleep(100);
            }
            System.out.println("topics ready: " + String.join(",", topics));
        }
    }

    private static void check(long deadline, String what) {
        if (System.currentTimeMillis() > deadline) {
            System.err.println("timed out " + what);
            System.exit(1);
        }
    }
}
