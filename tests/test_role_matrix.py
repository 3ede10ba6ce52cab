"""Every registered command x every role: allowed or refused, against a table written out here."""

from __future__ import annotations

import pytest

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import all_commands
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter

A, O, RO, G, T, H = "Administrators", "Operators", "Read-Only Operators", "Guests", "Technicians", "Help Desk Users"
ROLES = (A, O, RO, G, T, H)

# Written out by hand from the appliance's role descriptions; not derived from the declarations.
EXPECTED = {
    "bouncerecipients": {A, O},
    "deleterecipients": {A, O},
    "hoststatus":     {A, O, RO, T},
    "redirectrecipients": {A, O},
    "showrecipients": {A, O, RO, T},
    "tophosts":       {A, O, RO, T},
    "trace":          {A, O, RO, T},
    "tail":           {A, O, RO, T},
    "grep":           {A, O, RO, T},
    "showmessage":    {A, O, RO, T},
    "whoami":         {A, O, RO, G, T, H},
    "nslookup":       {A, O, RO, T},
    "tlsverify":      {A, O, RO, T},
    "ping":           {A, O, RO, T},
    "settz":          {A, O},
    "last":           {A, O, RO, T},
    "reboot":         {A},
    "ntpconfig":      {A, O},
    "diagnostic":     {A, O, RO, T},
    "resetconfig":    {A},
    "clusterconfig":  {A},
    "clustermode":    {A},
    "clusterset":     {A},
    "shutdown":       {A},
    "who":            {A, O, RO, T},
    "traceroute":     {A, O, RO, T},
    "telnet":         {A, O, RO, T},
    "antivirusstatus": {A, O, RO, T},
    "antispamstatus": {A, O, RO, T},
    "ampstatus":      {A, O, RO, T},
    "suspend":        {A, O},
    "resume":         {A, O},
    "suspenddel":     {A, O},
    "resumedel":      {A, O},
    "clear":          {A, O},
    "commit":         {A, O},
    "delivernow":     {A, O},
    "destconfig":     {A, O},
    "bounceconfig":   {A, O},
    "stripheaders":   {A, O},
    "aliasconfig":    {A, O},
    "masquerade":     {A, O},
    "smtpauthconfig": {A, O},
    "domainkeysconfig": {A, O},
    "dmarcconfig":    {A, O},
    "filters":        {A, O},
    "help":           {A, O, RO, G, T, H},
    "init":           {A},
    "listenerconfig": {A, O},
    "loadconfig":     {A},
    "passwd":         {A, O, RO, G, T, H},
    "policyconfig":   {A, O},
    "protectedattachmentconfig": {A, O},
    "quarantineconfig": {A, O},
    "scanconfig":     {A, O},
    "hashlistconfig": {A, O},
    "urllistconfig":  {A, O},
    "certconfig":     {A},
    "sslconfig":      {A},
    "dnsconfig":      {A, O},
    "dlpconfig":      {A, O},
    "sdrconfig":      {A, O},
    "domainrepconfig": {A, O},
    "reputationconfig": {A, O},
    "outboundconfig": {A},
    "awarenessconfig": {A, O},
    "antivirusconfig": {A, O},
    "antispamconfig": {A, O},
    "ampconfig":      {A, O},
    "license_smart":  {A},
    "featurekey":     {A},
    "showlicense":    {A, O, RO, T},
    "smartaccountinfo": {A, O, RO, T},
    "cloudserviceconfig": {A},
    "remediationconfig": {A},
    "remediate":      {A},
    "logconfig":      {A},
    "snmpconfig":     {A},
    "alertconfig":    {A},
    "displayalerts":  {A, O, RO, T},
    "supportrequest": {A},
    "findevent":      {A, O, RO, T},
    "report":         {A, O, RO, T},
    "rollovernow":    {A},
    "quit":           {A, O, RO, G, T, H},
    "resumelistener": {A, O},
    "rollbackconfig": {A, O},
    "saveconfig":     {A, O},
    "sethostname":    {A, O},
    "showconfig":     {A, O, RO, T},
    "smtproutes":     {A, O},
    "sshconfig":      {A},
    "interfaceconfig": {A},
    "adminaccessconfig": {A},
    "status":         {A, O, RO, G, T, H},
    "suspendlistener": {A, O},
    "userconfig":     {A},
    "version":        {A, O, RO, G, T, H},
    "workqueue":      {A, O},
}
REFUSED = "You are not in the correct access group to use"


def test_the_table_covers_every_command():
    assert set(EXPECTED) == {c.name for c in all_commands()}


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(datadir, role):
    wrong = []
    for name, allowed in sorted(EXPECTED.items()):
        ctx = Context(DataDir(datadir), ScriptedPrompter([], batch=True), user="someone", role=role, batch=True)
        try:
            Shell(ctx).execute(name)
            refused = False
        except CommandError as e:
            refused = REFUSED in str(e)
            if refused:
                assert str(e) == f"{REFUSED} {name}."
        finally:
            ctx.close()
        if refused == (role in allowed):
            wrong.append((name, "refused" if refused else "allowed"))
    assert wrong == []
