"""The appliance shell: REPL, prompters, completion, batch runs."""
