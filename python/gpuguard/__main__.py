"""``python -m gpuguard`` and the ``gpuguard`` console script: the Rust command line."""

import sys

from gpuguard._gpuguard import cli_main


def main() -> int:
    """Run the gpuguard command line with ``sys.argv[1:]``; returns its exit code."""
    # Rust writes to the same file descriptors; flush what Python buffered first.
    sys.stdout.flush()
    sys.stderr.flush()
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
