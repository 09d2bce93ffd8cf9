"""``python -m modelshelf.cli``: the ``modelshelf`` command without the console script."""

from modelshelf.cli import main

if __name__ == "__main__":
    main()
