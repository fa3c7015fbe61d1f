"""The ticket's commands as data, each with its handler (commands.py), and the dispatcher."""
