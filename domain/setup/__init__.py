"""Set-up commands: accounts, organisations, groups, categories, the set-up documents, the
knowledge base and quality review, each a frozen dataclass with one handler (domain/setup/base.py
says how; dispatch.py is the registry and the dispatcher)."""
