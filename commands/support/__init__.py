"""What the command modules share: the registry, the Prompter and context, man pages, common flows.

Kept apart from ``commands/`` itself, where every module is one CLI command.
"""
