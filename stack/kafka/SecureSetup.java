// TopicSetup for a broker that wants TLS + SASL: waits for the cluster, creates topics,
// waits for their leaders, then creates ACLs and waits until the brokers enforce them.
// Usage: SecureSetup <bootstrap> <adminClientProperties> <expectedBrokers> <partitions>
//                    <replication> <timeoutSeconds> <aclFile> [topic...]
// aclFile: one ACL a line, "principal resourceType patternType name operation", e.g.
//   User:bsocial-relay TOPIC PREFIXED bsocial. WRITE
// Compiled by stack/bstacklib/kafka.py into its own directory (not the shared classes/).
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.FileInputStream;
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
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public final class SecureSetup {
    public static void main(String[] args) throws Exception {
        if (args.length < 7) {
            System.err.println("usage: SecureSetup <bootstrap> <adminProps> <brokers> <partitions> <replication> <timeoutSeconds> <aclFile> [topic...]");
            System.exit(2);
        }
        String bootstrap = args[0];
        Properties p = new Properties();
        try (FileInputStream in = new FileInputStream(args[1])) {
            p.load(in);
        }
        int brokers = Integer.parseInt(args[2]);
        int partitions = Integer.parseInt(args[3]);
        short replication = Short.parseShort(args[4]);
        long deadline = System.currentTimeMillis() + Long.parseLong(args[5]) * 1000L;
        List<AclBinding> acls = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[6]))) {
            line = line.trim();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] f = line.split("\\s+");
            if (f.length != 5) throw new IllegalArgumentException("bad ACL line: " + line);
            acls.add(new AclBinding(
                    new ResourcePattern(ResourceType.fromString(f[1]), f[3], PatternType.fromString(f[2])),
                    new AccessControlEntry(f[0], "*", AclOperation.fromString(f[4]), AclPermissionType.ALLOW)));
        }
        List<String> topics = new ArrayList<>();
        for (int i = 7; i < args.length; i++) topics.add(args[i]);

        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "250");
        p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        try (Admin admin = Admin.create(p)) {
            while (true) {
                try {
                    Collection<Node> nodes = admin.describeCluster().nodes().get();
                    if (nodes.size() >= brokers) break;
                } catch (ExecutionException e) {
                    lastError = e.getCause().toString();
                }
                check(deadline, "waiting for " + brokers + " broker(s)");
                Thread.sleep(100);
            }
            System.out.println("brokers ready");
            while (!topics.isEmpty()) {
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
                            lastError = "create " + e.getKey() + ": " + ex.getCause();
                        }
                    }
                }
                if (ok) break;
                check(deadline, "creating topics");
                Thread.sleep(250);
            }
            while (!topics.isEmpty()) {
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
            if (!acls.isEmpty()) {
                while (true) {
                    try {
                        admin.createAcls(acls).all().get();
                        break;
                    } catch (ExecutionException e) {
                        lastError = "create ACLs: " + e.getCause();
                    }
                    check(deadline, "creating ACLs");
                    Thread.sleep(250);
                }
                // Every broker answers DescribeAcls from its own metadata copy: wait until
                // they all list the ACLs (enforced from then on).
                while (admin.describeAcls(AclBindingFilter.ANY).values().get().size() < acls.size()) {
                    check(deadline, "waiting for the ACLs to apply");
                    Thread.sleep(100);
                }
            }
            System.out.println("ready: topics " + String.join(",", topics) + ", " + acls.size() + " ACLs");
        }
    }

    private static String lastError = "";

    private static void check(long deadline, String what) {
        if (System.currentTimeMillis() > deadline) {
            System.err.println("timed out " + what + (lastError.isEmpty() ? "" : " (last error: " + lastError + ")"));
            System.exit(1);
        }
    }
}
