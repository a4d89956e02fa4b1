// One pgjdbc connection, run as `java -cp /usr/share/java/postgresql.jar ConnectOnce.java` with the JDBC URL
// in the env (CLIENT_URL), never on the command line: the URL holds the password. Connects with the URL as
// given, asks the server who it is and prints `address|t` or `address|f` (pg_is_in_recovery). On failure it
// prints the exception's class and message, which pgjdbc never fills with the password, and exits 1.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;

public class ConnectOnce {
    public static void main(String[] args) {
        String url = System.getenv("CLIENT_URL");
        if (url == null || url.isEmpty()) {
            System.err.println("CLIENT_URL is not set");
            System.exit(2);
        }
        // Bounds the wait for a host that does not answer; the URL's own parameters are left as rendered.
        Properties props = new Properties();
        props.setProperty("connectTimeout", "5");
        // The CA file, as an application mounts the database's caCertificate (the URL asks for verify-full).
        String ca = System.getenv("CLIENT_SSLROOTCERT");
        if (ca != null && !ca.isEmpty()) props.setProperty("sslrootcert", ca);
        try (Connection conn = DriverManager.getConnection(url, props);
                Statement st = conn.createStatement();
                ResultSet rs = st.executeQuery("SELECT host(inet_server_addr()), pg_is_in_recovery()")) {
            rs.next();
            System.out.println(rs.getString(1) + "|" + (rs.getBoolean(2) ? "t" : "f"));
        } catch (Exception e) {
            System.err.println(e.getClass().getName() + ": " + e.getMessage());
            System.exit(1);
        }
    }
}
