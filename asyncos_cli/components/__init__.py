"""The parts of the running gateway, each as the daemon sees it (asyncos_cli.daemon only wires them)."""
