import humanize


def greeting(name: str = "") -> str:
    who = name.strip() or "world"
    return f"hello, {who}, from python\n"


def describe_size(n_bytes: int) -> str:
    """Human-readable size, via the humanize dependency from PyPI."""
    return humanize.naturalsize(n_bytes)
