"""The configuration contract: schema, store, session, secrets, XML.

This package imports nothing else of the project; every engine reads it.
"""
