"""One operation per command (build, gc, verify), each called by the CLI module of the same name."""
