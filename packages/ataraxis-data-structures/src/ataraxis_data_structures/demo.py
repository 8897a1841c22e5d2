"""The suite's demo, run by `scripts/demo` (`python -m ataraxis_data_structures.demo`).

For now it reports which member distributions are installed; the simulated acquisition run that exercises all
three members replaces it once they are complete.
"""

import argparse
from importlib.metadata import version

MEMBERS = ("ataraxis-yamlconfig", "ataraxis-sharedarray", "ataraxis-datalogger")


def main(argv: list[str] | None = None) -> int:
    """Prints the installed versions of the meta-package and its members.

    Args:
        argv: The command-line arguments; `None` reads them from `sys.argv`.

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m ataraxis_data_structures.demo", description=__doc__)
    parser.parse_args(argv)
    print(f"ataraxis-data-structures {version('ataraxis-data-structures')}")
    for member in MEMBERS:
        print(f"  {member} {version(member)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
