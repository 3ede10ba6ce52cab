"""Pieces several commands share: engine action wizards, cloud clients, filter scripts, new passphrases,
queue selection, tracking searches."""
