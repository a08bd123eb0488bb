"""The ``ems`` command: thin; parses arguments and calls the packages."""
