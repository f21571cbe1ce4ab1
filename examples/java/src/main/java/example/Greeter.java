package example;

/** The app's logic, kept apart from HTTP so the checks can call it directly. */
public final class Greeter {
    private Greeter() {}

    public static String greeting(String name) {
        String who = name == null ? "" : name.trim();
        if (who.isEmpty()) {
            who = "world";
        }
        return "hello, " + who + ", from java\n";
    }

    /** Reads `name` from a query string like "a=1&name=ada". */
    public static String nameFromQuery(String query) {
        if (query == null) {
            return "";
        }
        for (String kv : query.split("&")) {
            if (kv.startsWith("name=")) {
                return kv.substring(5);
            }
        }
        return "";
    }
}
