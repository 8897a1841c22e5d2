"""Entry point of `python -m ataraxis_data_structures.demo`."""

from .run import main

if __name__ == "__main__":
    raise SystemExit(main())
