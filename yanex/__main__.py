"""``python -m yanex``: the command line."""

from yanex._cli import main

if __name__ == "__main__":
    main()
