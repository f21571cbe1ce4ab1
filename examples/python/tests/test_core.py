import os
import unittest

from app.core import describe_size, greeting


class CoreTest(unittest.TestCase):
    def test_greeting(self):
        self.assertEqual(greeting(""), "hello, world, from python\n")
        self.assertEqual(greeting(" ada "), "hello, ada, from python\n")

    def test_describe_size(self):
        self.assertEqual(describe_size(4096), "4.1 kB")

    def test_deliberate_failure(self):
        # FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose.
        self.assertNotEqual(os.environ.get("FAIL_TEST"), "1", "FAIL_TEST=1: failing on purpose")


if __name__ == "__main__":
    unittest.main()
