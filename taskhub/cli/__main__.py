"""``python -m taskhub.cli``."""

from taskhub.cli.main import main

main()
