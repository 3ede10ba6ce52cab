"""Shell commands: one module each, registered in ``registry``.

Commands are thin: they ask through the Prompter and stage new sections;
rules live in config, auth, services and scanning.
"""
