import os
import unittest

from wordcount import top_words


class TopWordsTest(unittest.TestCase):
    def test_counts_and_orders(self):
        self.assertEqual(top_words("b a b c a b", 2), [("b", 3), ("a", 2)])

    def test_ignores_punctuation_and_case(self):
        self.assertEqual(top_words("Dog. dog, DOG!"), [("dog", 3)])

    def test_deliberate_failure(self):
        # FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose.
        self.assertNotEqual(os.environ.get("FAIL_TEST"), "1", "FAIL_TEST=1: failing on purpose")


if __name__ == "__main__":
    unittest.main()
