"""Accounts, roles and passphrases."""
