"""What license_smart, smartaccountinfo and cloudserviceconfig share: the client, the identity, the log events."""

from __future__ import annotations

from asyncos_cli.shell.prompter import CommandError


def client(ctx):
    from asyncos_cli.services.cloud import CloudClient

    return CloudClient(ctx.config, ctx.keyring, ctx.datadir.run, ctx.emit)


def identity(ctx) -> dict:
    return {"serial": ctx.state.get("serial", ""), "hostname": ctx.config.system.hostname,
            "model": ctx.config.system.model}


def changed(ctx, text: str) -> None:
    from asyncos_cli.events.cloud import CloudStateChanged

    ctx.emit(CloudStateChanged(ctx.user, text))
    ctx.say(text)


def failing(fn, *args, **kwargs):
    """Run a cloud call; its CloudError is the command's error (the reason, non-zero exit in a batch)."""
    from asyncos_cli.services.cloud import CloudError

    try:
        return fn(*args, **kwargs)
    except CloudError as e:
        raise CommandError(str(e)) from None
