// One pgjdbc client, run as `java -cp /usr/share/java/postgresql.jar JdbcClient.java NAME KIND URL INTERVAL_MS LOG`:
// holds one connection as an application's pool would, writes one row per transaction (recording the
// acknowledged id) or reads every INTERVAL_MS, reconnects after a short pause on any error, and appends
// every operation to LOG as a JSON line with the same fields as client.ts. The password comes in the env
// (CLIENT_PASSWORD), never on the command line, and is never logged.
import java.io.FileWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;

public class JdbcClient {
    static final String VIEW = "host(inet_server_addr()) AS addr, pg_is_in_recovery() AS rec, (SELECT status FROM pg_stat_wal_receiver) AS wal";

    static String json(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') b.append('\\').append(ch);
            else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
            else b.append(ch);
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        String name = args[0], kind = args[1], url = args[2], log = args[4];
        long interval = Long.parseLong(args[3]);
        Properties props = new Properties();
        props.setProperty("user", "app");
        props.setProperty("password", System.getenv().getOrDefault("CLIENT_PASSWORD", ""));
        props.setProperty("connectTimeout", "2");
        // A hung commit (no synchronous standby) drops the connection, unacknowledged, as with the others.
        props.setProperty("socketTimeout", "10");
        Connection conn = null;
        long seq = 0;
        try (FileWriter out = new FileWriter(log, true)) {
            while (true) {
                String id = kind.equals("write") ? name + "-" + (++seq) : null;
                String sql = id != null
                        ? "INSERT INTO load_rows (id, client) VALUES ('" + id + "', '" + name + "') RETURNING " + VIEW + ", id"
                        : "SELECT " + VIEW + ", NULL AS id";
                long t = System.currentTimeMillis();
                String line;
                boolean ok;
                try {
                    if (conn == null) conn = DriverManager.getConnection(url, props);
                    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                        rs.next();
                        String rec = rs.getString("rec");
                        line = "{\"t\":" + t + ",\"end\":" + System.currentTimeMillis() + ",\"client\":" + json(name) + ",\"kind\":" + json(kind)
                                + ",\"ok\":true,\"addr\":" + json(rs.getString("addr")) + ",\"rec\":" + ("t".equals(rec) || "true".equals(rec))
                                + ",\"wal\":" + json(rs.getString("wal")) + (id != null ? ",\"id\":" + json(rs.getString("id")) : "") + "}";
                    }
                    ok = true;
                } catch (Exception e) {
                    String msg = String.valueOf(e.getMessage());
                    line = "{\"t\":" + t + ",\"end\":" + System.currentTimeMillis() + ",\"client\":" + json(name) + ",\"kind\":" + json(kind)
                            + ",\"ok\":false,\"error\":" + json(msg.length() > 200 ? msg.substring(0, 200) : msg) + "}";
                    ok = false;
                    try {
                        if (conn != null) conn.close();
                    } catch (Exception ignored) {
                        // already broken
                    }
                    conn = null;
                }
                out.write(line + "\n");
                out.flush();
                Thread.sleep(ok ? interval : 200);
            }
        }
    }
}
