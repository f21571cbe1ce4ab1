package example;

import java.util.ArrayList;
import java.util.List;

/** A JUnit-less assertion runner: runs each check, prints "N passed, N failed", exits 1 on failure. */
public final class GreeterCheck {
    interface Check {
        void run() throws Exception;
    }

    private static void expect(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    public static void main(String[] args) {
        List<String> names = new ArrayList<>();
        List<Check> checks = new ArrayList<>();

        names.add("greeting defaults to world");
        checks.add(() -> expect(Greeter.greeting("").equals("hello, world, from java\n"), "greeting(\"\")"));

        names.add("greeting trims the name");
        checks.add(() -> expect(Greeter.greeting(" duke ").equals("hello, duke, from java\n"), "greeting(\" duke \")"));

        names.add("name is read from the query");
        checks.add(() -> {
            expect(Greeter.nameFromQuery("a=1&name=ada").equals("ada"), "nameFromQuery");
            expect(Greeter.nameFromQuery(null).isEmpty(), "nameFromQuery(null)");
        });

        // FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose.
        names.add("deliberate failure switch");
        checks.add(() -> expect(!"1".equals(System.getenv("FAIL_TEST")), "FAIL_TEST=1: failing on purpose"));

        int passed = 0;
        int failed = 0;
        for (int i = 0; i < checks.size(); i++) {
            try {
                checks.get(i).run();
                passed++;
                System.out.println("ok   " + names.get(i));
            } catch (Throwable t) {
                failed++;
                System.out.println("FAIL " + names.get(i) + ": " + t.getMessage());
            }
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
