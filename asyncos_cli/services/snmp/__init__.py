"""SNMP: the agent (GET, GETNEXT, GETBULK over v1/v2c and v3) and the traps, built on pysnmp.

``mib`` turns the gateway's readings into the objects of the standard system
group and of ASYNCOS-MAIL-MIB (shipped beside it, for ``snmpwalk -m``);
``agent`` answers requests; ``traps`` watches conditions and sends traps.
"""
