"""Lets `python -m monitor` run the command line."""

from monitor.cli import cli

cli()
