import sys

from wordcount import top_words

SAMPLE = "the quick brown fox jumps over the lazy dog; the dog sleeps"


def main(argv):
    text = " ".join(argv) if argv else SAMPLE
    for word, count in top_words(text):
        print(f"{count} {word}")


if __name__ == "__main__":
    main(sys.argv[1:])
